import Hummingbird
import NIOCore

/// The operators' console: one page, no external assets. At `/console` it lists the plants; at
/// `/console/<plant>` it shows the plant's open quarantines by reason and age, the dead letters,
/// the consumer lag per processor, postings and releases per minute over the last hour (inline
/// SVG), confirmation lag p50/p95, the share of postings made within 30 min, the orders at risk;
/// and the actions: release, approve or reject a quarantine entry, redrive a dead letter, replay
/// (each previewed, then executed).
///
/// The page holds no data: its script reads `/api/v1/console/<plant>` with the operator's token
/// (`Authorization: Bearer …`), which it takes from a form, or from the address's fragment
/// (`/console/P100#token=…`: a fragment is never sent to the server, so never logged), and keeps
/// for the browser tab only (`sessionStorage`). Every value from the cluster is put in the page as
/// text, never as markup. Every number shown carries its exact value in `data-value`.
enum ConsolePage {
    static func response() -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy:
                    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
                .init("X-Content-Type-Options")!: "nosniff", .init("Referrer-Policy")!: "no-referrer",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Millwright console</title>
        <style>
          :root { --ink:#1d2733; --muted:#5d6b7a; --line:#d9dee4; --bg:#f4f6f8; --card:#fff; --accent:#1f6feb; --warn:#b35900; --bad:#c62828; --ok:#2e7d32; }
          * { box-sizing: border-box; }
          body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
          header { background:#17212b; color:#fff; padding:10px 20px; display:flex; gap:16px; align-items:center; flex-wrap:wrap; }
          header h1 { font-size:17px; margin:0; font-weight:600; }
          header .meta { color:#b8c4d0; font-size:12px; }
          header nav a { color:#9cc4ff; margin-right:10px; }
          main { padding:16px 20px; max-width:1400px; margin:0 auto; }
          .cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(170px, 1fr)); gap:10px; margin-bottom:16px; }
          .card { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:10px 12px; }
          .card .label { color:var(--muted); font-size:12px; }
          .card .value { font-size:22px; font-weight:600; font-variant-numeric:tabular-nums; }
          .card.warn .value { color:var(--warn); } .card.bad .value { color:var(--bad); }
          section { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:12px 14px; margin-bottom:14px; }
          section h2 { font-size:15px; margin:0 0 8px; }
          .grid2 { display:grid; grid-template-columns:1fr 1fr; gap:14px; } @media (max-width:900px) { .grid2 { grid-template-columns:1fr; } }
          table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
          th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
          th { color:var(--muted); font-weight:600; font-size:12px; }
          td.num, th.num { text-align:right; }
          .empty { color:var(--muted); font-style:italic; }
          button { font:inherit; border:1px solid var(--accent); color:var(--accent); background:#fff; border-radius:4px; padding:2px 9px; cursor:pointer; }
          button.primary { background:var(--accent); color:#fff; } button.danger { border-color:var(--bad); color:var(--bad); }
          button:disabled { opacity:.5; cursor:default; }
          input, select { font:inherit; padding:3px 6px; border:1px solid var(--line); border-radius:4px; }
          .detail { color:var(--muted); font-size:12px; max-width:420px; overflow-wrap:anywhere; }
          .tag { display:inline-block; padding:0 6px; border-radius:3px; background:#fdecea; color:var(--bad); font-size:12px; margin-right:4px; }
          #action-panel { position:sticky; top:0; z-index:2; background:#fffbe6; border:1px solid #e6c200; border-radius:6px; padding:10px 14px; margin-bottom:14px; }
          #action-panel[hidden] { display:none; }
          #action-panel pre { white-space:pre-wrap; margin:6px 0; font-size:12px; }
          .error { color:var(--bad); }
          #login { max-width:460px; }
          svg text { font-size:11px; fill:var(--muted); }
          .legend span { display:inline-block; margin-right:14px; font-size:12px; color:var(--muted); }
          .legend i { display:inline-block; width:10px; height:10px; margin-right:4px; vertical-align:middle; }
        </style>
        </head>
        <body>
        <header>
          <h1 id="title">Millwright console</h1>
          <nav id="nav"></nav>
          <span class="meta" id="meta"></span>
        </header>
        <main>
          <section id="login" hidden>
            <h2>Sign in</h2>
            <p>Paste a read token to look, or the admin token to act. It is kept for this browser tab only.</p>
            <p id="login-error" class="error"></p>
            <input id="token" type="password" autocomplete="off" size="36" aria-label="token">
            <button id="token-save" class="primary">Open</button>
          </section>
          <div id="action-panel" hidden>
            <strong id="action-title"></strong>
            <pre id="action-result"></pre>
            <button id="action-execute" class="primary">Execute</button>
            <button id="action-cancel">Close</button>
          </div>
          <div id="content"></div>
        </main>
        <script>
        "use strict";
        const TOKEN_KEY = "millwright-token";
        const parts = location.pathname.replace(/\/+$/, "").split("/");
        const plant = parts.length > 2 ? decodeURIComponent(parts[2]) : null;
        let refreshTimer = null;

        (function takeTokenFromFragment() {
          const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
          if (match) {
            sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
            history.replaceState(null, "", location.pathname);
          }
        })();

        function h(tag, attributes, ...children) {
          const element = document.createElement(tag);
          for (const [name, value] of Object.entries(attributes || {})) {
            if (value === null || value === undefined || value === false) continue;
            if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
            else element.setAttribute(name, value === true ? "" : String(value));
          }
          for (const child of children.flat()) {
            if (child === null || child === undefined) continue;
            element.append(child instanceof Node ? child : document.createTextNode(String(child)));
          }
          return element;
        }
        function svg(tag, attributes, ...children) {
          const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
          for (const [name, value] of Object.entries(attributes || {})) element.setAttribute(name, String(value));
          for (const child of children.flat()) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
          return element;
        }

        async function api(method, path, body) {
          const token = sessionStorage.getItem(TOKEN_KEY);
          if (!token) { showLogin(""); throw new Error("no token"); }
          const response = await fetch(path, {
            method, headers: Object.assign({ "Authorization": "Bearer " + token }, body ? { "Content-Type": "application/json" } : {}),
            body: body ? JSON.stringify(body) : undefined, cache: "no-store",
          });
          const text = await response.text();
          let json = null;
          try { json = JSON.parse(text); } catch (e) { json = { detail: text }; }
          if (response.status === 401 && method === "GET") { showLogin(json.detail || "Sign in."); throw new Error("unauthorized"); }
          if (!response.ok) { const error = new Error(json.detail || response.statusText); error.status = response.status; throw error; }
          return json;
        }

        function showLogin(message) {
          document.getElementById("login").hidden = false;
          document.getElementById("login-error").textContent = message || "";
          document.getElementById("content").replaceChildren();
        }
        document.getElementById("token-save").addEventListener("click", () => {
          const value = document.getElementById("token").value.trim();
          if (!value) return;
          sessionStorage.setItem(TOKEN_KEY, value);
          document.getElementById("token").value = "";
          document.getElementById("login").hidden = true;
          load();
        });

        function duration(seconds) {
          if (seconds === null || seconds === undefined) return "–";
          if (seconds < 60) return seconds.toFixed(seconds < 10 ? 1 : 0) + " s";
          if (seconds < 3600) return Math.floor(seconds / 60) + " min " + Math.round(seconds % 60) + " s";
          if (seconds < 86400) return Math.floor(seconds / 3600) + " h " + Math.round((seconds % 3600) / 60) + " min";
          return Math.floor(seconds / 86400) + " d " + Math.round((seconds % 86400) / 3600) + " h";
        }
        function card(label, value, text, metric, level) {
          return h("div", { class: "card" + (level ? " " + level : "") },
            h("div", { class: "label" }, label),
            h("div", { class: "value", "data-metric": metric, "data-value": value === null ? "" : value }, text));
        }
        function table(headers, rows, empty) {
          if (!rows.length) return h("p", { class: "empty" }, empty);
          return h("table", {}, h("thead", {}, h("tr", {}, headers.map(([label, num]) => h("th", num ? { class: "num" } : {}, label)))), h("tbody", {}, rows));
        }

        // The action panel: a preview first, then Execute.
        let pending = null;
        function openAction(title, request) {
          const panel = document.getElementById("action-panel");
          panel.hidden = false;
          document.getElementById("action-title").textContent = title + " — preview";
          document.getElementById("action-result").textContent = "asking…";
          const execute = document.getElementById("action-execute");
          execute.disabled = true;
          pending = request;
          api("POST", request.path, Object.assign({}, request.body, { execute: false }))
            .then(json => { document.getElementById("action-result").textContent = describe(json); execute.disabled = !request.executable(json); })
            .catch(error => { document.getElementById("action-result").textContent = "refused: " + error.message; });
        }
        document.getElementById("action-execute").addEventListener("click", () => {
          if (!pending) return;
          const request = pending;
          pending = null;
          const execute = document.getElementById("action-execute");
          execute.disabled = true;
          document.getElementById("action-title").textContent = document.getElementById("action-title").textContent.replace(" — preview", " — executing");
          api("POST", request.path, Object.assign({}, request.body, { execute: true }))
            .then(json => {
              document.getElementById("action-title").textContent = document.getElementById("action-title").textContent.replace(" — executing", " — done");
              document.getElementById("action-result").textContent = describe(json);
              document.getElementById("action-panel").setAttribute("data-done", "true");
              load();
            })
            .catch(error => {
              const title = document.getElementById("action-title");
              title.textContent = title.textContent.replace(" — executing", " — refused");
              document.getElementById("action-result").textContent += "\n\nrefused: " + error.message;
              document.getElementById("action-panel").setAttribute("data-done", "refused");
            });
        });
        document.getElementById("action-cancel").addEventListener("click", () => {
          pending = null;
          document.getElementById("action-panel").hidden = true;
          document.getElementById("action-panel").removeAttribute("data-done");
        });
        function describe(json) {
          if (json.plan) {
            const lines = json.plan.map(c => `${c.topic} [${c.partition}]  ${c.from === null ? "-" : c.from} → ${c.to}`);
            return `group ${json.group}, to ${json.to}:\n${lines.join("\n")}` +
              (json.executed ? `\nreset (${json.method}); audit record ${json.auditId}. Start the workers to replay.` : "\nnothing changed yet: Execute applies it (every worker of the group must be stopped).");
          }
          if (json.outcomes) return json.outcomes.map(o => `${o.id}  ${o.outcome}${o.reason ? ": " + o.reason : ""}${o.detail ? " (" + o.detail + ")" : ""}`).join("\n") + (json.executed ? "" : "\n(preview: nothing changed yet)");
          if (json.redriven) return (json.executed ? "redriven: " : "would redrive: ") + (json.redriven.join(", ") || "none") + (json.alreadyRedriven.length ? "\nalready redriven: " + json.alreadyRedriven.join(", ") : "");
          if (json.outcome) return json.outcome;
          return JSON.stringify(json, null, 2);
        }

        function throughputChart(t) {
          // Drawn at the width it is shown at (text stays its size); redrawn with each refresh.
          const width = Math.max(520, Math.min(1400, (document.getElementById("content").clientWidth || 900) - 30)), height = 170, left = 36, bottom = 22, top = 10;
          const n = t.postings.length;
          const max = Math.max(1, ...t.postings, ...t.releases);
          const step = (width - left - 4) / n;
          const y = v => top + (height - top - bottom) * (1 - v / max);
          const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": "postings and releases per minute, last hour", id: "throughput" });
          chart.append(svg("line", { x1: left, x2: width, y1: y(0), y2: y(0), stroke: "#d9dee4" }));
          chart.append(svg("line", { x1: left, x2: width, y1: y(max), y2: y(max), stroke: "#eef1f4" }));
          chart.append(svg("text", { x: left - 4, y: y(max) + 4, "text-anchor": "end" }, String(max)));
          chart.append(svg("text", { x: left - 4, y: y(0) + 4, "text-anchor": "end" }, "0"));
          t.postings.forEach((v, i) => {
            const x = left + i * step;
            chart.append(svg("rect", { x: x + 1, y: y(v), width: Math.max(1, step - 2), height: y(0) - y(v), fill: "#1f6feb", "data-series": "postings", "data-minute": i, "data-count": v },
              svg("title", {}, `${v} postings`)));
          });
          const points = t.releases.map((v, i) => `${left + i * step + step / 2},${y(v)}`).join(" ");
          chart.append(svg("polyline", { points, fill: "none", stroke: "#e8710a", "stroke-width": 2 }));
          t.releases.forEach((v, i) => chart.append(svg("circle", { cx: left + i * step + step / 2, cy: y(v), r: v ? 2.5 : 0, fill: "#e8710a", "data-series": "releases", "data-minute": i, "data-count": v })));
          const from = new Date(t.from);
          [0, 15, 30, 45, 59].forEach(i => {
            const label = new Date(from.getTime() + i * 60000).toISOString().slice(11, 16) + "Z";
            chart.append(svg("text", { x: left + i * step + (i === 59 ? step : 0), y: height - 6, "text-anchor": i === 59 ? "end" : "start" }, label));
          });
          return chart;
        }

        async function loadPlants() {
          document.getElementById("title").textContent = "Millwright console";
          const json = await api("GET", "/api/v1/console");
          const links = json.plants.map(code => h("li", {}, h("a", { href: "/console/" + encodeURIComponent(code), "data-plant": code }, code)));
          document.getElementById("content").replaceChildren(h("section", {}, h("h2", {}, "Plants"),
            links.length ? h("ul", {}, links) : h("p", { class: "empty" }, "No plant has outputs or quarantines yet."),
            json.quarantinedWithoutPlant ? h("p", {}, `${json.quarantinedWithoutPlant} quarantine entries name no plant: see millwright quarantine list.`) : null));
        }

        async function loadPlant() {
          const d = await api("GET", "/api/v1/console/" + encodeURIComponent(plant));
          document.title = `Millwright · ${d.plant}`;
          document.getElementById("title").textContent = `Plant ${d.plant}`;
          document.getElementById("nav").replaceChildren(h("a", { href: "/console" }, "all plants"));
          const feed = d.feed ? (d.feed.failure ? `outputs: ${d.feed.failure}` : d.feed.caughtUp ? "outputs read up to now" : `reading the last hour (${d.feed.behind} partitions to go)`) : "";
          document.getElementById("meta").textContent = `as of ${d.generatedAt.replace("T", " ").slice(0, 19)} UTC · ${feed}`;
          const p = d.postings || {};
          const totalLag = d.lag.reduce((sum, g) => sum + g.lag, 0);
          const onTime = p.onTimeShare === null || p.onTimeShare === undefined ? null : p.onTimeShare;
          const cards = h("div", { class: "cards" },
            card("open quarantines", d.quarantine.open, d.quarantine.open, "quarantine-open", d.quarantine.open ? "warn" : null),
            card("dead letters (all plants)", d.deadLetters.open, d.deadLetters.open, "dead-letters-open", d.deadLetters.open ? "bad" : null),
            card("consumer lag (records)", totalLag, totalLag, "lag-total", totalLag > 10000 ? "warn" : null),
            card("postings, last hour", p.lastHour ?? 0, p.lastHour ?? 0, "postings-last-hour"),
            card("releases, last hour", p.releasesLastHour ?? 0, p.releasesLastHour ?? 0, "releases-last-hour"),
            card("confirmation lag p50" + (p.lagEstimated ? " (est.)" : ""), p.lagP50Seconds ?? null, duration(p.lagP50Seconds), "lag-p50"),
            card("confirmation lag p95" + (p.lagEstimated ? " (est.)" : ""), p.lagP95Seconds ?? null, duration(p.lagP95Seconds), "lag-p95"),
            card("posted within 30 min", onTime, onTime === null ? "–" : (onTime * 100).toFixed(1) + " %", "on-time-share", onTime !== null && onTime < 0.9 ? "warn" : null),
            card("orders at risk", d.atRisk.length, d.atRisk.length, "at-risk-count", d.atRisk.length ? "warn" : null));

          const q = d.quarantine;
          const reasonRows = q.byReason.map(r => h("tr", { "data-reason": r.reason },
            h("td", {}, r.reason), r.counts.map((c, i) => h("td", { class: "num", "data-bucket": i, "data-value": c }, c)),
            h("td", { class: "num", "data-value": r.total }, r.total),
            h("td", {}, r.reason === "OVER_CONFIRMATION" ? "" : h("button", { "data-action": "release-reason", onclick: () => openAction(`Release every ${r.reason} of ${d.plant}`, {
              path: "/api/v1/quarantine/release", body: { reason: r.reason, plant: d.plant }, executable: json => json.outcomes.some(o => o.outcome === "released") }) }, "Release all…"))));
          const entryRows = q.entries.map(e => h("tr", { "data-entry": e.id },
            h("td", {}, e.reason), h("td", {}, e.key || ""), h("td", { "data-value": e.ageSeconds }, duration(e.ageSeconds)),
            h("td", { class: "detail" }, e.detail),
            h("td", {}, e.reason === "OVER_CONFIRMATION"
              ? [h("button", { "data-action": "approve", onclick: () => openAction(`Approve ${e.id}`, { path: "/api/v1/quarantine/approve", body: { id: e.id }, executable: () => true }) }, "Approve…"), " ",
                 h("button", { class: "danger", "data-action": "reject", onclick: () => openAction(`Reject ${e.id}`, { path: "/api/v1/quarantine/reject", body: { id: e.id }, executable: () => true }) }, "Reject…")]
              : h("button", { "data-action": "release", onclick: () => openAction(`Release ${e.id}`, { path: "/api/v1/quarantine/release", body: { id: e.id }, executable: json => json.outcomes.some(o => o.outcome === "released") }) }, "Release…"))));
          const quarantine = h("section", { id: "quarantine" }, h("h2", {}, "Open quarantines by reason and age"),
            table([["reason"], ...q.ageBuckets.map(b => [b, true]), ["total", true], [""]], reasonRows, "Nothing is quarantined for this plant."),
            q.entries.length ? h("h2", { style: "margin-top:12px" }, "Entries") : null,
            q.entries.length ? table([["reason"], ["key"], ["age"], ["detail"], [""]], entryRows, "") : null);

          const letterRows = d.deadLetters.entries.map(l => h("tr", { "data-letter": l.id },
            h("td", {}, l.reason), h("td", {}, `${l.originalTopic} [${l.originalPartition}] @${l.originalOffset}`), h("td", { class: "detail" }, l.error),
            h("td", {}, h("button", { "data-action": "redrive", onclick: () => openAction(`Redrive ${l.id}`, { path: "/api/v1/dead-letters/redrive", body: { id: l.id }, executable: json => json.redriven.length > 0 }) }, "Redrive…"))));
          const letters = h("section", { id: "dead-letters" }, h("h2", {}, "Dead letters (all plants: unreadable records name no plant)"),
            table([["reason"], ["from"], ["error"], [""]], letterRows, "No dead letters."));

          const lagRows = d.lag.map(g => h("tr", { "data-processor": g.processor }, h("td", {}, g.processor), h("td", {}, g.group), h("td", { class: "num", "data-value": g.lag }, g.lag)));
          const lag = h("section", { id: "lag" }, h("h2", {}, "Consumer lag per processor"), table([["processor"], ["group"], ["records behind", true]], lagRows, ""));

          const riskRows = d.atRisk.map(o => h("tr", { "data-order": o.orderId }, h("td", {}, o.orderId), h("td", {}, o.workOrderId || ""), h("td", {}, o.status),
            h("td", {}, o.riskReasons.map(r => h("span", { class: "tag" }, r))), h("td", {}, (o.dueDate || "").slice(0, 10)), h("td", {}, (o.updatedAt || "").replace("T", " ").slice(0, 16))));
          const risk = h("section", { id: "at-risk" }, h("h2", {}, "Orders at risk"), table([["order"], ["work order"], ["status"], ["reasons"], ["due"], ["updated"]], riskRows, "No order of this plant is at risk."));

          const chart = h("section", { id: "throughput-section" }, h("h2", {}, "Throughput, last hour (per minute)"),
            h("div", { class: "legend" }, h("span", {}, h("i", { style: "background:#1f6feb" }), "postings to ERP"), h("span", {}, h("i", { style: "background:#e8710a" }), "releases to MES")),
            d.throughput ? throughputChart(d.throughput) : h("p", { class: "empty" }, "Not available: this server does not read the outputs."));

          const replay = h("section", { id: "replay" }, h("h2", {}, "Replay"),
            h("p", {}, "Re-read a processor's input from a point: ERP never receives a postingId twice, MES never a release twice; status events may repeat. Preview the plan first; executing needs every worker of the group stopped."),
            h("label", {}, "processor ", h("select", { id: "replay-processor" }, h("option", { value: "confirmation" }, "confirmation"), h("option", { value: "release" }, "release"))), " ",
            h("label", {}, "to ", h("input", { id: "replay-to", value: "-1h", size: 24, title: "earliest, latest, 2026-11-27T06:00:00Z, -2h, 2h-ago, shift:-100, offset:42" })), " ",
            h("button", { id: "replay-preview", "data-action": "replay", onclick: () => {
              const processor = document.getElementById("replay-processor").value, to = document.getElementById("replay-to").value;
              openAction(`Replay ${processor} to ${to}`, { path: "/api/v1/offsets/reset", body: { processor, to }, executable: json => json.plan.length > 0 });
            } }, "Preview plan…"));

          // A refresh keeps what the operator typed into the replay form.
          const keep = { processor: document.getElementById("replay-processor")?.value, to: document.getElementById("replay-to")?.value };
          document.getElementById("content").replaceChildren(cards, chart, h("div", { class: "grid2" }, quarantine, h("div", {}, lag, letters)), risk, replay);
          if (keep.processor) document.getElementById("replay-processor").value = keep.processor;
          if (keep.to !== undefined) document.getElementById("replay-to").value = keep.to;
          document.body.setAttribute("data-loaded", d.generatedAt);
        }

        async function load() {
          clearTimeout(refreshTimer);
          try {
            if (plant) await loadPlant(); else await loadPlants();
            document.getElementById("login").hidden = true;
          } catch (error) {
            if (error.message !== "unauthorized" && error.message !== "no token") {
              document.getElementById("content").replaceChildren(h("p", { class: "error", id: "load-error" }, `Cannot load: ${error.message}`));
            }
            if (error.status === 403) showLogin(error.message);
          }
          // Refresh every 15 s, but not while an action is being looked at.
          refreshTimer = setTimeout(function again() {
            if (document.getElementById("action-panel").hidden) load(); else refreshTimer = setTimeout(again, 15000);
          }, 15000);
        }
        load();
        </script>
        </body>
        </html>
        """#
}
