/* The live option chain page (docs/chain.md, "The chain page").
 *
 * Every refresh (2 s, after the previous one finished) reads /api/v1/chain/ and
 * /api/v1/chain/term/ with the session cookie and redraws the summary, the table, the IV smile,
 * the OI bars and the term structure. Plain DOM and SVG, no library; a null is drawn as "—"
 * (never 0) and left out of the plots. Elements carry data-* attributes the browser test reads.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var DASH = "\u2014";
  var root = document.getElementById("chain-root");
  if (!root) {
    return;
  }
  var state = {
    underlying: root.dataset.underlying,
    expiry: root.dataset.expiry || "",
    chainUrl: root.dataset.chainUrl,
    termUrl: root.dataset.termUrl,
    refreshMs: parseInt(root.dataset.refreshMs, 10) || 2000,
    refreshes: 0,
    generation: 0,
    timer: null,
  };
  var select = document.getElementById("chain-expiry");
  var statusLine = document.getElementById("chain-status");

  // --- formatting ---------------------------------------------------------------------------
  function isNum(value) {
    return typeof value === "number" && isFinite(value);
  }
  function fixed(digits) {
    return function (value) {
      return isNum(value) ? value.toFixed(digits) : DASH;
    };
  }
  function percent(digits) {
    return function (value) {
      return isNum(value) ? (value * 100).toFixed(digits) + "%" : DASH;
    };
  }
  function signedPercentPoints(value) {
    return isNum(value) ? (value >= 0 ? "+" : "") + (value * 100).toFixed(2) + " pts" : DASH;
  }
  function integer(value) {
    return isNum(value) ? Math.round(value).toLocaleString("en-IN") : DASH;
  }
  function signedInteger(value) {
    if (!isNum(value)) {
      return DASH;
    }
    return (value > 0 ? "+" : "") + Math.round(value).toLocaleString("en-IN");
  }
  function strikeText(value) {
    return isNum(value) ? (Number.isInteger(value) ? String(value) : value.toFixed(2)) : DASH;
  }
  function seconds(value) {
    return isNum(value) ? value.toFixed(1) + " s" : DASH;
  }
  var price = fixed(2);

  // Columns of the calls, from the outside in; the puts mirror them, bid before ask on both sides.
  var CALL_COLUMNS = [
    { key: "oi_change", format: signedInteger },
    { key: "oi", format: integer },
    { key: "volume", format: integer },
    { key: "iv", format: percent(2) },
    { key: "delta", format: fixed(3) },
    { key: "gamma", format: fixed(5) },
    { key: "theta", format: fixed(2) },
    { key: "vega", format: fixed(2) },
    { key: "bid", format: price },
    { key: "ask", format: price },
    { key: "last_price", format: price },
  ];
  var PUT_COLUMNS = CALL_COLUMNS.slice(0, 8).reverse();
  PUT_COLUMNS.unshift(CALL_COLUMNS[10], CALL_COLUMNS[8], CALL_COLUMNS[9]);

  // --- summary -------------------------------------------------------------------------------
  function renderSummary(chain) {
    var spot = chain.spot || {};
    var values = {
      spot: price(spot.price) + (spot.stale ? " (stale)" : ""),
      forward: price(chain.forward),
      atm_strike: strikeText(chain.atm_strike),
      atm_iv: percent(2)(chain.atm_iv),
      straddle: price(chain.straddle),
      implied_move: percent(2)(chain.implied_move),
      pcr_oi: fixed(2)(chain.pcr_oi),
      pcr_volume: fixed(2)(chain.pcr_volume),
      max_pain: strikeText(chain.max_pain),
      risk_reversal_25d: signedPercentPoints(chain.risk_reversal_25d),
      butterfly_25d: signedPercentPoints(chain.butterfly_25d),
      days_to_expiry: fixed(2)(chain.days_to_expiry),
      data_age_seconds: seconds(chain.data_age_seconds),
    };
    Object.keys(values).forEach(function (field) {
      var cell = root.querySelector('[data-field="' + field + '"]');
      if (cell) {
        cell.textContent = values[field];
        cell.classList.toggle("stale", field === "spot" && Boolean(spot.stale));
      }
    });
  }

  function renderLegends(chain) {
    if (isNum(chain.stale_after_seconds)) {
      document.getElementById("chain-stale-legend").textContent =
        "stale (no tick for " + chain.stale_after_seconds + " s, or never seen)";
    }
    if (chain.oi_change_since) {
      document.querySelectorAll("#chain-table .oi-change-head").forEach(function (head) {
        head.title = "OI change since the first snapshot of the session of " + chain.oi_change_since;
      });
    }
  }

  function renderExpiries(chain) {
    var expiries = chain.expiries || [];
    var wanted = expiries.join(",");
    if (select.dataset.options !== wanted) {
      select.textContent = "";
      expiries.forEach(function (expiry) {
        var option = document.createElement("option");
        option.value = expiry;
        option.textContent = expiry;
        select.appendChild(option);
      });
      select.dataset.options = wanted;
    }
    select.value = chain.expiry;
    select.disabled = expiries.length === 0;
  }

  // --- table ---------------------------------------------------------------------------------
  function sideCell(row, side, column) {
    var quote = row[side];
    var td = document.createElement("td");
    td.className = side;
    td.dataset.col = column.key;
    if (!quote) {
      td.textContent = DASH;
      td.classList.add("missing");
      return td;
    }
    td.textContent = column.format(quote[column.key]);
    if (quote.itm) {
      td.classList.add("itm");
    }
    if (quote.stale) {
      td.classList.add("stale");
    }
    return td;
  }

  function renderTable(chain) {
    var body = document.querySelector("#chain-table tbody");
    var fragment = document.createDocumentFragment();
    (chain.rows || []).forEach(function (row) {
      var tr = document.createElement("tr");
      tr.dataset.strike = String(row.strike);
      if (row.is_atm) {
        tr.classList.add("atm");
        tr.dataset.atm = "true";
      }
      CALL_COLUMNS.forEach(function (column) {
        tr.appendChild(sideCell(row, "ce", column));
      });
      var strike = document.createElement("th");
      strike.className = "strike";
      strike.scope = "row";
      strike.textContent = strikeText(row.strike);
      if (row.is_atm) {
        strike.title = "at the money";
      }
      tr.appendChild(strike);
      PUT_COLUMNS.forEach(function (column) {
        tr.appendChild(sideCell(row, "pe", column));
      });
      fragment.appendChild(tr);
    });
    if (!fragment.childNodes.length) {
      var empty = document.createElement("tr");
      var cell = document.createElement("td");
      cell.colSpan = 23;
      cell.textContent = "No strikes streamed for this expiry.";
      empty.appendChild(cell);
      fragment.appendChild(empty);
    }
    body.textContent = "";
    body.appendChild(fragment);
  }

  // --- SVG plots -------------------------------------------------------------------------------
  var PLOT = { width: 560, height: 260, left: 58, right: 12, top: 12, bottom: 34 };

  function svgEl(tag, attrs, text) {
    var el = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (name) {
      el.setAttribute(name, attrs[name]);
    });
    if (text !== undefined) {
      el.textContent = text;
    }
    return el;
  }

  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) {
      return [lo];
    }
    var raw = (hi - lo) / Math.max(1, count);
    var magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10]
      .map(function (m) {
        return m * magnitude;
      })
      .find(function (s) {
        return s >= raw;
      });
    var ticks = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
      ticks.push(Math.round(t / step) * step);
    }
    return ticks;
  }

  // Decimals that show a tick step exactly (0.25 -> 2, 0.5 -> 1, 5 -> 0).
  function decimalsOf(step) {
    for (var digits = 0; digits < 6; digits++) {
      var scaled = step * Math.pow(10, digits);
      if (Math.abs(Math.round(scaled) - scaled) < 1e-6) {
        return digits;
      }
    }
    return 6;
  }
  function percentAxis(value, step) {
    return (value * 100).toFixed(decimalsOf(step * 100)) + "%";
  }

  function scale(domainLo, domainHi, rangeLo, rangeHi) {
    var span = domainHi - domainLo || 1;
    return function (value) {
      return rangeLo + ((value - domainLo) / span) * (rangeHi - rangeLo);
    };
  }

  function extent(values, padFraction) {
    var lo = Math.min.apply(null, values);
    var hi = Math.max.apply(null, values);
    var pad = (hi - lo) * (padFraction || 0) || Math.abs(hi) * 0.05 || 1;
    return [lo - pad, hi + pad];
  }

  // Axes and grid; returns {x, y} scales. yFormat labels the y ticks.
  function frame(svg, xDomain, yDomain, xFormat, yFormat, xLabel) {
    var x = scale(xDomain[0], xDomain[1], PLOT.left, PLOT.width - PLOT.right);
    var y = scale(yDomain[0], yDomain[1], PLOT.height - PLOT.bottom, PLOT.top);
    var axes = svgEl("g", { class: "axes" });
    var yTicks = niceTicks(yDomain[0], yDomain[1], 6);
    var yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : 0;
    yTicks.forEach(function (tick) {
      if (tick < yDomain[0] || tick > yDomain[1]) {
        return;
      }
      axes.appendChild(svgEl("line", { class: "grid", x1: PLOT.left, x2: PLOT.width - PLOT.right, y1: y(tick), y2: y(tick) }));
      axes.appendChild(svgEl("text", { class: "tick", x: PLOT.left - 6, y: y(tick) + 4, "text-anchor": "end" }, yFormat(tick, yStep)));
    });
    niceTicks(xDomain[0], xDomain[1], 6).forEach(function (tick) {
      if (tick < xDomain[0] || tick > xDomain[1]) {
        return;
      }
      axes.appendChild(svgEl("line", { class: "tick-mark", x1: x(tick), x2: x(tick), y1: PLOT.height - PLOT.bottom, y2: PLOT.height - PLOT.bottom + 4 }));
      axes.appendChild(svgEl("text", { class: "tick", x: x(tick), y: PLOT.height - PLOT.bottom + 16, "text-anchor": "middle" }, xFormat(tick)));
    });
    axes.appendChild(svgEl("line", { class: "axis", x1: PLOT.left, x2: PLOT.width - PLOT.right, y1: PLOT.height - PLOT.bottom, y2: PLOT.height - PLOT.bottom }));
    axes.appendChild(svgEl("line", { class: "axis", x1: PLOT.left, x2: PLOT.left, y1: PLOT.top, y2: PLOT.height - PLOT.bottom }));
    if (xLabel) {
      axes.appendChild(svgEl("text", { class: "axis-label", x: (PLOT.left + PLOT.width - PLOT.right) / 2, y: PLOT.height - 4, "text-anchor": "middle" }, xLabel));
    }
    svg.appendChild(axes);
    return { x: x, y: y };
  }

  function placeholder(svg, message) {
    svg.appendChild(svgEl("text", { class: "placeholder", x: PLOT.width / 2, y: PLOT.height / 2, "text-anchor": "middle" }, message));
  }

  function verticalLine(svg, scales, value, yDomain, cls, label) {
    var line = svgEl("line", { class: cls, x1: scales.x(value), x2: scales.x(value), y1: scales.y(yDomain[1]), y2: scales.y(yDomain[0]) });
    line.setAttribute("data-" + cls, strikeText(value));
    line.appendChild(svgEl("title", {}, label));
    svg.appendChild(line);
  }

  function renderSmile(chain) {
    var svg = document.getElementById("chain-smile");
    svg.textContent = "";
    var points = { ce: [], pe: [] };
    (chain.rows || []).forEach(function (row) {
      ["ce", "pe"].forEach(function (side) {
        var quote = row[side];
        if (quote && quote.priced && isNum(quote.iv)) {
          points[side].push({ strike: row.strike, iv: quote.iv, stale: quote.stale });
        }
      });
    });
    var all = points.ce.concat(points.pe);
    svg.dataset.points = String(all.length);
    if (!all.length) {
      placeholder(svg, "no priced strikes yet");
      return;
    }
    var strikes = (chain.rows || []).map(function (row) {
      return row.strike;
    });
    var xDomain = extent(strikes, 0.02);
    var yDomain = extent(
      all.map(function (p) {
        return p.iv;
      }),
      0.08
    );
    var scales = frame(svg, xDomain, yDomain, strikeText, percentAxis, "strike");
    if (isNum(chain.atm_strike)) {
      verticalLine(svg, scales, chain.atm_strike, yDomain, "atm-line", "ATM " + strikeText(chain.atm_strike));
    }
    ["ce", "pe"].forEach(function (side) {
      var sidePoints = points[side];
      if (sidePoints.length > 1) {
        svg.appendChild(
          svgEl("polyline", {
            class: "smile-line " + side,
            points: sidePoints
              .map(function (p) {
                return scales.x(p.strike).toFixed(1) + "," + scales.y(p.iv).toFixed(1);
              })
              .join(" "),
          })
        );
      }
      sidePoints.forEach(function (p) {
        var dot = svgEl("circle", {
          class: "smile-point " + side + (p.stale ? " stale" : ""),
          cx: scales.x(p.strike).toFixed(1),
          cy: scales.y(p.iv).toFixed(1),
          r: 3,
          "data-side": side,
          "data-strike": String(p.strike),
          "data-iv": String(p.iv),
        });
        dot.appendChild(svgEl("title", {}, strikeText(p.strike) + " " + side.toUpperCase() + " IV " + percent(2)(p.iv)));
        svg.appendChild(dot);
      });
    });
  }

  function renderOpenInterest(chain) {
    var svg = document.getElementById("chain-oi");
    svg.textContent = "";
    var rows = (chain.rows || []).filter(function (row) {
      return (row.ce && isNum(row.ce.oi)) || (row.pe && isNum(row.pe.oi));
    });
    if (!rows.length) {
      placeholder(svg, "no open interest yet");
      return;
    }
    var strikes = (chain.rows || []).map(function (row) {
      return row.strike;
    });
    var maxOi = Math.max.apply(
      null,
      rows.map(function (row) {
        return Math.max(row.ce && isNum(row.ce.oi) ? row.ce.oi : 0, row.pe && isNum(row.pe.oi) ? row.pe.oi : 0);
      })
    );
    var xDomain = extent(strikes, 0.03);
    var yDomain = [0, maxOi * 1.08 || 1];
    var scales = frame(svg, xDomain, yDomain, strikeText, compact, "strike");
    var gap = strikes.length > 1 ? Math.abs(scales.x(strikes[1]) - scales.x(strikes[0])) : 20;
    var barWidth = Math.max(1, Math.min(14, gap * 0.4));
    rows.forEach(function (row) {
      [["ce", -1], ["pe", 0]].forEach(function (pair) {
        var side = pair[0];
        var quote = row[side];
        if (!quote || !isNum(quote.oi)) {
          return;
        }
        var top = scales.y(quote.oi);
        var bar = svgEl("rect", {
          class: "oi-bar " + side + (quote.stale ? " stale" : ""),
          x: (scales.x(row.strike) + pair[1] * barWidth).toFixed(1),
          y: top.toFixed(1),
          width: barWidth.toFixed(1),
          height: Math.max(0, scales.y(0) - top).toFixed(1),
          "data-side": side,
          "data-strike": String(row.strike),
          "data-oi": String(quote.oi),
        });
        bar.appendChild(svgEl("title", {}, strikeText(row.strike) + " " + side.toUpperCase() + " OI " + integer(quote.oi) + " (" + signedInteger(quote.oi_change) + ")"));
        svg.appendChild(bar);
      });
    });
    if (isNum(chain.atm_strike)) {
      verticalLine(svg, scales, chain.atm_strike, yDomain, "atm-line", "ATM " + strikeText(chain.atm_strike));
    }
    if (isNum(chain.max_pain)) {
      verticalLine(svg, scales, chain.max_pain, yDomain, "pain-line", "max pain " + strikeText(chain.max_pain));
    }
  }

  function compact(value) {
    var abs = Math.abs(value);
    if (abs >= 1e7) {
      return (value / 1e7).toFixed(1) + " cr";
    }
    if (abs >= 1e5) {
      return (value / 1e5).toFixed(1) + " L";
    }
    if (abs >= 1e3) {
      return (value / 1e3).toFixed(0) + "k";
    }
    return String(Math.round(value));
  }

  function renderTerm(term) {
    var svg = document.getElementById("chain-term");
    svg.textContent = "";
    var points = (term.points || []).filter(function (p) {
      return isNum(p.atm_iv) && isNum(p.days_to_expiry);
    });
    svg.dataset.points = String(points.length);
    if (!points.length) {
      placeholder(svg, "no ATM IV for any expiry yet");
      return;
    }
    var days = points.map(function (p) {
      return p.days_to_expiry;
    });
    var xDomain = [0, Math.max.apply(null, days) * 1.08 || 1];
    var yDomain = extent(
      points.map(function (p) {
        return p.atm_iv;
      }),
      0.15
    );
    var scales = frame(svg, xDomain, yDomain, fixed(0), percentAxis, "days to expiry");
    if (points.length > 1) {
      svg.appendChild(
        svgEl("polyline", {
          class: "term-line",
          points: points
            .map(function (p) {
              return scales.x(p.days_to_expiry).toFixed(1) + "," + scales.y(p.atm_iv).toFixed(1);
            })
            .join(" "),
        })
      );
    }
    points.forEach(function (p) {
      var selected = p.expiry === state.shownExpiry;
      var dot = svgEl("circle", {
        class: "term-point" + (selected ? " selected" : ""),
        cx: scales.x(p.days_to_expiry).toFixed(1),
        cy: scales.y(p.atm_iv).toFixed(1),
        r: selected ? 5 : 4,
        "data-expiry": p.expiry,
        "data-iv": String(p.atm_iv),
      });
      dot.appendChild(svgEl("title", {}, p.expiry + ": ATM " + strikeText(p.atm_strike) + ", IV " + percent(2)(p.atm_iv)));
      svg.appendChild(dot);
      svg.appendChild(svgEl("text", { class: "term-label", x: scales.x(p.days_to_expiry), y: scales.y(p.atm_iv) - 9, "text-anchor": "middle" }, p.expiry.slice(5)));
    });
  }

  // --- refresh loop ------------------------------------------------------------------------------
  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (body) {
          if (!response.ok) {
            var reason = body && body.detail ? body.detail : response.statusText;
            if (response.status === 401 || response.status === 403) {
              reason = "not signed in any more (" + reason + "); reload the page to log in";
            }
            throw new Error(response.status + ": " + reason);
          }
          return body;
        });
    });
  }

  function chainQuery() {
    var params = new URLSearchParams({ underlying: state.underlying });
    if (state.expiry) {
      params.set("expiry", state.expiry);
    }
    return state.chainUrl + "?" + params.toString();
  }

  function showStatus(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", Boolean(isError));
  }

  function refresh(generation) {
    var termQuery = state.termUrl + "?" + new URLSearchParams({ underlying: state.underlying }).toString();
    return Promise.all([getJson(chainQuery()), getJson(termQuery)])
      .then(function (results) {
        if (generation !== state.generation) {
          return; // the expiry changed while this read was under way
        }
        var chain = results[0];
        state.shownExpiry = chain.expiry;
        renderExpiries(chain);
        renderSummary(chain);
        renderLegends(chain);
        renderTable(chain);
        renderSmile(chain);
        renderOpenInterest(chain);
        renderTerm(results[1]);
        state.refreshes += 1;
        root.dataset.asOf = String(chain.as_of);
        root.dataset.refreshes = String(state.refreshes);
        showStatus("updated " + new Date(chain.as_of * 1000).toLocaleTimeString() + " \u00b7 every " + state.refreshMs / 1000 + " s", false);
      })
      .catch(function (error) {
        if (generation !== state.generation) {
          return;
        }
        // The last drawn chain stays; the status line says why it is not current.
        showStatus("refresh failed: " + error.message, true);
      });
  }

  // One chain of refreshes at a time: a new one (expiry changed) retires the one before.
  function loop() {
    state.generation += 1;
    var generation = state.generation;
    refresh(generation).then(function () {
      if (generation === state.generation) {
        state.timer = window.setTimeout(loop, state.refreshMs);
      }
    });
  }

  select.addEventListener("change", function () {
    state.expiry = select.value;
    var url = new URL(window.location.href);
    url.searchParams.set("expiry", state.expiry);
    window.history.replaceState(null, "", url.toString());
    window.clearTimeout(state.timer);
    loop();
  });

  loop();
})();
