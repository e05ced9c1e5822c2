/* The report page's charts (ECharts, inlined before this script; data in #report-data). Plain ES2017. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var charts = {};
  window.ballastCharts = charts;

  // Colours: one per leverage (same in every chart); short positions dashed.
  var PALETTE = [
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#b07aa1",
    "#9c755f",
    "#edc948",
    "#ff9da7",
    "#bab0ac",
  ];
  var levColor = {};
  D.leverages.forEach(function (l, i) {
    levColor[l] = PALETTE[i % PALETTE.length];
  });
  var KIND = {
    rebalance: {
      name: "rebalance",
      color: "#2b6cb0",
      symbol: "circle",
      size: 7,
    },
    rescue: {
      name: "reserve rescue",
      color: "#2f855a",
      symbol: "triangle",
      size: 9,
    },
    liquidation: {
      name: "liquidation",
      color: "#c53030",
      symbol: "path://M2,0L5,3L8,0L10,2L7,5L10,8L8,10L5,7L2,10L0,8L3,5L0,2Z",
      size: 11,
    },
  };
  var KINDS = ["rebalance", "rescue", "liquidation"];
  var LIQ_RED = "#c53030";

  function fmt(x, digits) {
    if (x === null || x === undefined) return "–";
    return Number(x).toLocaleString("en-US", {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
  }
  // A sliver of a position left is not 0%.
  function percent(x) {
    return x > 0 && x < 0.05 ? "< 0.1%" : fmt(x, 1) + "%";
  }
  function date(ms) {
    return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
  }
  function health(h) {
    if (h === undefined) return "–";
    return h === null ? "no position" : fmt(h, 3);
  }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }
  function accountLabel(i) {
    var a = D.accounts[i];
    return (
      a.policy +
      " · " +
      a.leverage +
      "x " +
      a.side +
      " · " +
      a.address.slice(0, 8) +
      "…"
    );
  }
  function nearestRound(ms) {
    var lo = 0;
    var hi = D.rounds.length - 1;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (D.rounds[mid][0] < ms) lo = mid + 1;
      else hi = mid;
    }
    if (
      lo > 0 &&
      Math.abs(D.rounds[lo - 1][0] - ms) < Math.abs(D.rounds[lo][0] - ms)
    )
      lo--;
    return lo;
  }
  var eventsByRound = {};
  D.events.forEach(function (e) {
    (eventsByRound[e.round] = eventsByRound[e.round] || []).push(e);
  });

  var timeAxis = function (extra) {
    var axis = {
      type: "time",
      axisLabel: {
        hideOverlap: true,
        color: "#444",
        formatter: {
          year: "{yyyy}",
          month: "{MMM} {yyyy}",
          day: "{MMM} {d}",
          hour: "{HH}:{mm}",
          minute: "{HH}:{mm}",
          second: "{HH}:{mm}:{ss}",
        },
      },
      splitLine: { show: true, lineStyle: { color: "#f0f0f0" } },
    };
    for (var k in extra) axis[k] = extra[k];
    return axis;
  };
  function init(id, height) {
    var el = document.getElementById(id);
    if (height) el.style.height = height + "px";
    var chart = echarts.init(el, null, { renderer: "canvas" });
    charts[id] = chart;
    return chart;
  }

  // ---- Price with markers -------------------------------------------------------------------------------
  (function () {
    var series = [];
    if (D.rows) {
      series.push({
        name: "price-series rows",
        type: "line",
        data: D.rows,
        showSymbol: false,
        symbol: "none",
        lineStyle: { width: 1.5, color: "#a3a3a3" },
        itemStyle: { color: "#a3a3a3" },
        sampling: "lttb",
        z: 1,
      });
    }
    series.push({
      name: "oracle rounds",
      type: "line",
      step: "end",
      data: D.rounds,
      showSymbol: false,
      symbol: "none",
      lineStyle: { width: 1.5, color: "#222" },
      itemStyle: { color: "#222" },
      sampling: "lttb",
      z: 2,
    });
    KINDS.forEach(function (k) {
      var seen = {};
      var data = [];
      D.events.forEach(function (e) {
        if (e.kind !== k || seen[e.round]) return;
        seen[e.round] = true;
        data.push([e.time, e.price, e.round]);
      });
      series.push({
        name: KIND[k].name,
        type: "scatter",
        data: data,
        symbol: KIND[k].symbol,
        symbolSize: KIND[k].size,
        // Above the price for the keeper's rescues of health, below it for liquidations.
        symbolOffset: [
          0,
          k === "liquidation" ? 11 : k === "rescue" ? -20 : -10,
        ],
        itemStyle: {
          color: KIND[k].color,
          opacity: k === "rebalance" ? 0.75 : 0.95,
        },
        z: k === "liquidation" ? 5 : 4,
      });
    });
    var chart = init("price");
    chart.setOption({
      useUTC: true,
      animation: false,
      legend: { top: 4, left: "center" },
      grid: { left: 70, right: 30, top: 44, bottom: 84 },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "line" },
        formatter: function (params) {
          var ms = params[0].axisValue;
          var i = nearestRound(ms);
          var lines = [
            "<b>" + date(D.rounds[i][0]) + " UTC</b>",
            "round " + fmt(i, 0) + ": " + fmt(D.rounds[i][1], 2) + " USD",
          ];
          var evs = eventsByRound[i] || [];
          evs.slice(0, 8).forEach(function (e) {
            var a = D.accounts[e.account];
            lines.push(
              '<span style="color:' +
                KIND[e.kind].color +
                '">●</span> ' +
                KIND[e.kind].name +
                ": " +
                esc(a.policy) +
                " " +
                esc(a.name) +
                ", health " +
                health(e.healthBefore) +
                " → " +
                health(e.healthAfter),
            );
          });
          if (evs.length > 8) lines.push("… and " + (evs.length - 8) + " more");
          return lines.join("<br>");
        },
      },
      xAxis: timeAxis({
        name: "time (UTC)",
        nameLocation: "middle",
        nameGap: 28,
      }),
      yAxis: {
        type: "value",
        scale: true,
        name: "ETH/USD",
        nameLocation: "middle",
        nameGap: 52,
        axisLabel: { color: "#444" },
        splitLine: { lineStyle: { color: "#f0f0f0" } },
      },
      dataZoom: [
        { type: "inside", filterMode: "none" },
        { type: "slider", height: 18, bottom: 8, filterMode: "none" },
      ],
      series: series,
    });
  })();

  // ---- Faceted charts: one grid per policy ----------------------------------------------------------------
  var seriesAccount = {}; // chart id → series index → account index
  function facet(id, opts) {
    var n = D.policies.length;
    var top0 = opts.markers ? 90 : 64;
    var gap = 44;
    var h = opts.panel;
    var height = top0 + n * h + (n - 1) * gap + 46;
    var grids = [];
    var xAxes = [];
    var yAxes = [];
    var titles = [];
    var series = [];
    var map = [];
    var legendNames = [];
    D.accounts.forEach(function (a) {
      if (legendNames.indexOf(a.name) < 0) legendNames.push(a.name);
    });
    legendNames.sort(function (x, y) {
      return parseFloat(x) - parseFloat(y) || x.localeCompare(y);
    });
    D.policies.forEach(function (p, g) {
      var top = top0 + g * (h + gap);
      grids.push({ left: 70, right: 130, top: top, height: h });
      titles.push({
        text: "policy: " + p,
        left: 70,
        top: top - 22,
        textStyle: { fontSize: 13, fontWeight: 600, color: "#333" },
      });
      xAxes.push(timeAxis({ gridIndex: g }));
      var y = {
        gridIndex: g,
        name: opts.yName,
        nameLocation: "middle",
        nameGap: 46,
        axisLabel: { color: "#444" },
        splitLine: { lineStyle: { color: "#f0f0f0" } },
      };
      for (var k in opts.yAxis) y[k] = opts.yAxis[k];
      yAxes.push(y);
      D.accounts.forEach(function (a, i) {
        if (a.policy !== p) return;
        var values = opts.values[i];
        series.push({
          name: a.name,
          type: "line",
          xAxisIndex: g,
          yAxisIndex: g,
          data: D.time.map(function (t, j) {
            return [t, opts.map(values[j])];
          }),
          symbol: "none",
          step: opts.step || false,
          connectNulls: false,
          triggerLineEvent: true,
          lineStyle: {
            width: 1.6,
            color: levColor[a.leverage],
            type: a.side === "short" ? "dashed" : "solid",
          },
          itemStyle: { color: levColor[a.leverage] },
          emphasis: { focus: "series", lineStyle: { width: 3 } },
          z: 3,
        });
        map[series.length - 1] = i;
      });
      if (opts.lines) {
        series.push({
          name: "",
          type: "line",
          xAxisIndex: g,
          yAxisIndex: g,
          data: [],
          silent: true,
          tooltip: { show: false },
          markLine: {
            silent: true,
            symbol: "none",
            data: opts.lines(p),
          },
        });
      }
      if (opts.markers) {
        KINDS.forEach(function (k) {
          var data = [];
          D.events.forEach(function (e) {
            if (e.kind !== k || D.accounts[e.account].policy !== p) return;
            data.push([
              e.time,
              opts.map(
                e.healthBefore === undefined ? e.healthAfter : e.healthBefore,
              ),
              e.account,
            ]);
          });
          series.push({
            name: KIND[k].name,
            type: "scatter",
            xAxisIndex: g,
            yAxisIndex: g,
            data: data,
            symbol: KIND[k].symbol,
            symbolSize: KIND[k].size - 2,
            itemStyle: { color: KIND[k].color, opacity: 0.8 },
            z: 5,
          });
        });
      }
    });
    seriesAccount[id] = map;
    var chart = init(id, height);
    chart.setOption({
      useUTC: true,
      animation: false,
      title: titles,
      // Leverages on the first row (scrolling only if they cannot fit), the event markers on the second.
      legend: [
        { type: "scroll", top: 4, left: 70, right: 20, data: legendNames },
      ].concat(
        opts.markers
          ? [
              {
                top: 28,
                left: 70,
                data: KINDS.map(function (k) {
                  return KIND[k].name;
                }),
              },
            ]
          : [],
      ),
      grid: grids,
      xAxis: xAxes,
      yAxis: yAxes,
      axisPointer: { link: [{ xAxisIndex: "all" }] },
      tooltip: {
        trigger: "axis",
        confine: true,
        // A leverage per row, a policy per column (the lowest value when a leverage has several accounts).
        formatter: function (params) {
          var lines = params.filter(function (q) {
            return q.seriesType === "line" && q.seriesName;
          });
          if (!lines.length) return "";
          var j = lines[0].dataIndex;
          var cells = {};
          var colors = {};
          lines.forEach(function (q) {
            var i = map[q.seriesIndex];
            var a = D.accounts[i];
            var v = opts.values[i][j];
            var key = a.name + "|" + a.policy;
            colors[a.name] = q.color;
            if (
              !(key in cells) ||
              (v !== null && (cells[key] === null || v < cells[key]))
            )
              cells[key] = v;
          });
          var html =
            "<b>" +
            date(D.time[j]) +
            " UTC</b> (round " +
            fmt(D.sampledRounds[j], 0) +
            ')<table style="border-collapse:collapse;margin-top:4px"><tr><th></th>' +
            D.policies
              .map(function (p) {
                return (
                  '<th style="padding:0 6px;text-align:right">' +
                  esc(p) +
                  "</th>"
                );
              })
              .join("") +
            "</tr>";
          legendNames.forEach(function (name) {
            if (!(name in colors)) return;
            html +=
              '<tr><td><span style="color:' +
              colors[name] +
              '">━</span> ' +
              esc(name) +
              "</td>" +
              D.policies
                .map(function (p) {
                  var key = name + "|" + p;
                  return (
                    '<td style="padding:0 6px;text-align:right">' +
                    (key in cells ? opts.label(cells[key]) : "") +
                    "</td>"
                  );
                })
                .join("") +
              "</tr>";
          });
          return html + "</table>";
        },
      },
      dataZoom: [
        {
          type: "inside",
          xAxisIndex: D.policies.map(function (_, g) {
            return g;
          }),
          filterMode: "none",
        },
      ],
      series: series,
    });
    chart.on("click", function (e) {
      var i = e.seriesType === "scatter" ? e.data[2] : map[e.seriesIndex];
      if (i !== undefined) selectAccount(i, true);
    });
    return chart;
  }

  // Health on a log axis: 0 (equity gone) is drawn at the axis floor; no position is a gap.
  // (A loop, not Math.min.apply: a large book has more values than a call takes arguments.)
  var lowH = 0.75;
  var highH = 2;
  D.health.forEach(function (hs) {
    hs.forEach(function (h) {
      if (h === null || h <= 0) return;
      if (h < lowH) lowH = h;
      if (h > highH) highH = h;
    });
  });
  var hMin = Math.max(1 / 16, Math.pow(2, Math.floor(Math.log2(lowH))));
  var hMax = Math.min(64, Math.pow(2, Math.ceil(Math.log2(highH))));
  var healthMap = function (h) {
    return h === null ? null : Math.min(hMax, Math.max(hMin, h));
  };
  var healthAxis = {
    type: "log",
    logBase: 2,
    min: hMin,
    max: hMax,
    axisLabel: {
      color: "#444",
      formatter: function (v) {
        return String(+v.toPrecision(3));
      },
    },
  };
  function healthLines(p) {
    var lines = [
      {
        yAxis: 1,
        lineStyle: { color: LIQ_RED, width: 1.5, type: "solid" },
        label: {
          formatter: "liquidation",
          position: "end",
          verticalAlign: "top",
          color: LIQ_RED,
          fontWeight: 600,
        },
      },
    ];
    if (p !== "none" && D.trigger) {
      lines.push({
        yAxis: D.trigger,
        lineStyle: { color: "#2b6cb0", width: 1, type: "dashed" },
        label: {
          formatter: "trigger " + D.trigger,
          position: "end",
          verticalAlign: "bottom",
          color: "#2b6cb0",
        },
      });
    }
    return lines;
  }

  facet("health", {
    panel: 190,
    yName: "health",
    yAxis: healthAxis,
    values: D.health,
    map: healthMap,
    label: health,
    lines: healthLines,
    markers: true,
  });
  facet("exposure", {
    panel: 120,
    step: "end",
    yName: "exposure",
    yAxis: {
      type: "value",
      min: 0,
      max: 100,
      interval: 25,
      axisLabel: { color: "#444", formatter: "{value}%" },
    },
    values: D.exposure.map(function (xs) {
      return xs.map(function (x) {
        return x * 100;
      });
    }),
    map: function (x) {
      return x;
    },
    label: percent,
  });

  // ---- One account ---------------------------------------------------------------------------------------
  var pick = document.getElementById("account-pick");
  D.accounts.forEach(function (a, i) {
    var opt = document.createElement("option");
    opt.value = String(i);
    opt.textContent = accountLabel(i);
    pick.appendChild(opt);
  });
  var accountChart = init("account");
  function selectAccount(i, scroll) {
    pick.value = String(i);
    var a = D.accounts[i];
    var evs = D.events.filter(function (e) {
      return e.account === i;
    });
    var hs = D.health[i];
    var low = null;
    hs.forEach(function (h, j) {
      if (h !== null && (low === null || h < hs[low])) low = j;
    });
    var count = function (k) {
      return evs.filter(function (e) {
        return e.kind === k;
      }).length;
    };
    document.getElementById("account-summary").textContent =
      a.leverage +
      "x " +
      a.side +
      " under policy " +
      a.policy +
      ", " +
      fmt(a.notional, 0) +
      " USD notional at the start; lowest health " +
      (low === null
        ? "–"
        : fmt(hs[low], 4) + " at " + date(D.time[low]) + " UTC") +
      "; " +
      count("rebalance") +
      " rebalances, " +
      count("rescue") +
      " rescues, " +
      count("liquidation") +
      " liquidations.";
    var t = D.time;
    var pair = function (values, m) {
      return t.map(function (x, j) {
        return [x, m ? m(values[j]) : values[j]];
      });
    };
    var markers = KINDS.map(function (k) {
      return {
        name: KIND[k].name,
        type: "scatter",
        xAxisIndex: 0,
        yAxisIndex: 0,
        symbol: KIND[k].symbol,
        symbolSize: KIND[k].size + 2,
        itemStyle: { color: KIND[k].color },
        z: 5,
        data: evs
          .filter(function (e) {
            return e.kind === k;
          })
          .map(function (e) {
            return [
              e.time,
              healthMap(
                e.healthBefore === undefined ? e.healthAfter : e.healthBefore,
              ),
            ];
          }),
      };
    });
    accountChart.setOption(
      {
        useUTC: true,
        animation: false,
        title: [
          {
            text: "health",
            left: 70,
            top: 38,
            textStyle: { fontSize: 13, color: "#333" },
          },
          {
            text: "margin and reserve (USD)",
            left: 70,
            top: 258,
            textStyle: { fontSize: 13, color: "#333" },
          },
          {
            text: "exposure kept",
            left: 70,
            top: 458,
            textStyle: { fontSize: 13, color: "#333" },
          },
        ],
        legend: { top: 4, left: 70 },
        grid: [
          { left: 70, right: 130, top: 62, height: 160 },
          { left: 70, right: 130, top: 282, height: 140 },
          { left: 70, right: 130, top: 482, height: 100 },
        ],
        xAxis: [
          timeAxis({ gridIndex: 0 }),
          timeAxis({ gridIndex: 1 }),
          timeAxis({ gridIndex: 2 }),
        ],
        yAxis: [
          (function () {
            var y = { gridIndex: 0 };
            for (var k in healthAxis) y[k] = healthAxis[k];
            return y;
          })(),
          {
            gridIndex: 1,
            type: "value",
            axisLabel: { color: "#444" },
            splitLine: { lineStyle: { color: "#f0f0f0" } },
          },
          {
            gridIndex: 2,
            type: "value",
            min: 0,
            max: 100,
            interval: 50,
            axisLabel: { color: "#444", formatter: "{value}%" },
          },
        ],
        axisPointer: { link: [{ xAxisIndex: "all" }] },
        tooltip: {
          trigger: "axis",
          confine: true,
          formatter: function (params) {
            var line = params.filter(function (q) {
              return q.seriesType === "line" && q.seriesName;
            })[0];
            if (!line) return "";
            var j = line.dataIndex;
            var out = [
              "<b>" +
                date(t[j]) +
                " UTC</b> (round " +
                fmt(D.sampledRounds[j], 0) +
                ")",
              "health: " + health(hs[j]),
              "margin: " + fmt(D.margin[i][j], 2) + " USD",
              "reserve: " + fmt(D.reserve[i][j], 2) + " USD",
              "exposure kept: " + percent(D.exposure[i][j] * 100),
            ];
            return out.join("<br>");
          },
        },
        dataZoom: [
          { type: "inside", xAxisIndex: [0, 1, 2], filterMode: "none" },
        ],
        series: [
          {
            name: "health",
            type: "line",
            data: pair(hs, healthMap),
            showSymbol: false,
            symbol: "none",
            lineStyle: { color: "#333", width: 2 },
            itemStyle: { color: "#333" },
            markLine: {
              silent: true,
              symbol: "none",
              data: healthLines(a.policy),
            },
          },
          {
            name: "margin",
            type: "line",
            xAxisIndex: 1,
            yAxisIndex: 1,
            step: "end",
            symbol: "none",
            data: pair(D.margin[i]),
            showSymbol: false,
            lineStyle: { color: "#4e79a7", width: 2 },
            itemStyle: { color: "#4e79a7" },
          },
          {
            name: "reserve",
            type: "line",
            xAxisIndex: 1,
            yAxisIndex: 1,
            step: "end",
            symbol: "none",
            data: pair(D.reserve[i]),
            showSymbol: false,
            lineStyle: { color: "#59a14f", width: 2, type: "dashed" },
            itemStyle: { color: "#59a14f" },
          },
          {
            name: "exposure",
            type: "line",
            xAxisIndex: 2,
            yAxisIndex: 2,
            step: "end",
            symbol: "none",
            data: pair(D.exposure[i], function (x) {
              return x * 100;
            }),
            showSymbol: false,
            lineStyle: { color: "#9c755f", width: 2 },
            itemStyle: { color: "#9c755f" },
          },
        ].concat(markers),
      },
      { notMerge: true },
    );
    var table = document.getElementById("account-events");
    if (!evs.length) {
      table.innerHTML =
        '<tr><td class="l">No rebalance, rescue or liquidation for this account.</td></tr>';
    } else {
      table.innerHTML =
        '<tr><th>round</th><th>time (UTC)</th><th class="l">event</th><th>price</th><th>health before</th><th>health after</th>' +
        "<th>top-up USD</th><th>closed USD</th><th>fees USD</th><th>keeper USD</th><th>bad debt USD</th></tr>" +
        evs
          .map(function (e) {
            return (
              "<tr><td>" +
              fmt(e.round, 0) +
              "</td><td>" +
              date(e.time) +
              '</td><td class="l">' +
              KIND[e.kind].name +
              "</td><td>" +
              fmt(e.price, 2) +
              "</td><td>" +
              health(e.healthBefore) +
              "</td><td>" +
              health(e.healthAfter) +
              "</td><td>" +
              fmt(e.toppedUp, 2) +
              "</td><td>" +
              fmt(e.closed, 2) +
              "</td><td>" +
              fmt(e.fees, 2) +
              "</td><td>" +
              fmt(e.reward, 2) +
              "</td><td>" +
              fmt(e.badDebt, 2) +
              "</td></tr>"
            );
          })
          .join("");
    }
    if (scroll)
      document
        .getElementById("account-pick")
        .scrollIntoView({ behavior: "smooth", block: "start" });
  }
  pick.addEventListener("change", function () {
    selectAccount(Number(pick.value), false);
  });
  // Open on the most eventful account: a liquidated one, else the one with the lowest health.
  var first = -1;
  D.events.forEach(function (e) {
    if (first < 0 && e.kind === "liquidation") first = e.account;
  });
  if (first < 0) {
    var lowest = Infinity;
    D.health.forEach(function (hs, i) {
      hs.forEach(function (h) {
        if (h !== null && h < lowest) {
          lowest = h;
          first = i;
        }
      });
    });
  }
  selectAccount(Math.max(0, first), false);
  window.ballastSelectAccount = function (i) {
    selectAccount(i, false);
  };
  window.addEventListener("resize", function () {
    for (var id in charts) charts[id].resize();
  });
  document.body.setAttribute("data-charts-ready", "true");
})();
