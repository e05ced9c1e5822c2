import "./demo";
import "./size";
