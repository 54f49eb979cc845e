// traceproof live view: the correlations a sink holds, newest first, a
// waterfall of the selected one that grows as spans arrive (Server-Sent
// Events from /ui/api/stream), and the sink's senders and refusals.
(function () {
  "use strict";
  const TP = window.TP;
  const h = TP.h;
  const cfg = JSON.parse(document.getElementById("tp-config").textContent);
  const params = new URLSearchParams(location.search);
  const token = params.get("token") || "";
  const ALL_CAP = 2000; // spans kept in the "all recent spans" view

  function apiURL(path, query) {
    const u = new URL(cfg.api + "/" + path, location.href);
    for (const k in query || {}) if (query[k] !== undefined && query[k] !== "") u.searchParams.set(k, query[k]);
    if (token) u.searchParams.set("token", token);
    return u.toString();
  }
  async function getJSON(path, query) {
    const r = await fetch(apiURL(path, query), { headers: { Accept: "application/json" } });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error || r.status + " " + r.statusText);
    return body;
  }

  const colors = new TP.Colors();
  const state = {
    rows: [], // correlation rows, newest first
    total: 0,
    filter: "",
    selected: null, // {all: true} or {value: "order-A1"}
    stats: null,
    clockSkew: 0, // server clock minus ours
    es: null,
    seq: 0,
  };

  // ---- layout ----
  const conn = h("span", { class: "conn", id: "conn" }, h("i"), h("span", { class: "conn-text" }, "connecting"));
  const topFacts = h("div", { class: "facts", id: "top-facts" });
  const top = h(
    "header",
    { class: "topbar" },
    h("div", { class: "brand" }, h("span", { class: "brand-mark" }), "traceproof"),
    h("span", { class: "sep" }),
    h("h1", null, "Live view"),
    conn,
    h("span", { class: "spacer" }),
    topFacts
  );
  const search = h("input", { class: "search", id: "search", type: "search", placeholder: "Filter correlations…", autocomplete: "off", spellcheck: "false" });
  const listCount = h("span", { class: "faint", id: "corr-count" });
  const list = h("div", { class: "corr-list", id: "corr-list" });
  const sinkPanel = h("div", { class: "sinkp", id: "sink" });
  const side = h("aside", { class: "side" }, h("div", { class: "side-h" }, h("div", { class: "row-h" }, h("h2", null, "Correlations"), listCount), search), list, sinkPanel);
  const contentHead = h("div", { class: "content-h", id: "content-h" });
  const legend = h("div", { class: "legend", id: "legend" });
  const wfEl = h("div", { id: "waterfall" });
  const notice = h("div", { class: "notice", id: "notice", hidden: true });
  const placeholder = h(
    "div",
    { class: "placeholder", id: "placeholder" },
    h("h2", null, "Pick a correlation"),
    h("p", null, "Each correlation value (a task's correlation ID or UUID) gathers every trace that carries it, from every instance. Spans appear here as they reach the sink.")
  );
  const wfCard = h("section", { class: "card wf-card", hidden: true }, legend, wfEl);
  const content = h("section", { class: "content" }, contentHead, h("div", { class: "content-body" }, notice, placeholder, wfCard));
  document.getElementById("app").replaceChildren(top, h("div", { class: "live" }, side, content));

  let detail;
  const wf = new TP.Waterfall(wfEl, {
    colors: colors,
    pageSize: 300,
    emptyText: "No spans yet for this selection; they appear as they arrive.",
    onSelect: (s, hl) => detail.show(s, hl),
    onRender: () => TP.renderLegend(legend, wf),
  });
  detail = new TP.Detail(wf);

  const serverNow = () => Date.now() + state.clockSkew;
  const ago = (t) => TP.fmtAgo(serverNow() - Date.parse(t));
  const rowKey = (r) => r.values.join("\u0000");
  const isSelected = (r) => state.selected && !state.selected.all && r.values.includes(state.selected.value);

  function showNotice(msg) {
    notice.textContent = msg;
    notice.hidden = !msg;
  }

  // ---- correlation list ----
  function renderList() {
    const items = [];
    items.push(
      h(
        "div",
        { class: "corr all" + (state.selected && state.selected.all ? " selected" : ""), dataset: { all: "1" }, onclick: () => select({ all: true }) },
        h("div", { class: "c-top" }, h("span", { class: "c-val" }, "All recent spans"), h("span", { class: "c-ago" }, state.stats ? TP.plural(state.stats.stored, "span") + " stored" : "")),
        h("div", { class: "c-meta" }, "every trace, correlated or not (latest " + ALL_CAP + ")")
      )
    );
    for (const r of state.rows) items.push(corrItem(r));
    if (state.rows.length === 0) items.push(h("div", { class: "placeholder", style: "padding:30px 16px" }, state.filter ? "No correlation matches “" + state.filter + "”." : "No correlated spans yet."));
    if (state.rows.length < state.total) items.push(h("div", { class: "list-more" }, h("button", { id: "list-more", onclick: () => loadList(false) }, "Show more (" + (state.total - state.rows.length) + ")")));
    TP.fill(list, items);
    listCount.textContent = state.total ? String(state.total) : "";
  }

  function corrItem(r) {
    const key = rowKey(r);
    const el = h(
      "div",
      { class: "corr" + (isSelected(r) ? " selected" : "") + (r._fresh ? " fresh" : ""), dataset: { key: key, value: r.values[0] }, title: r.values.join("\n"), onclick: () => select({ value: r.values[0] }) },
      h("div", { class: "c-top" }, h("span", { class: "c-val" }, r.values[0]), h("span", { class: "c-ago", dataset: { t: r.last } }, ago(r.last))),
      r.values.length > 1 ? h("div", { class: "c-alias" }, "also " + r.values.slice(1).join(", ")) : null,
      h(
        "div",
        { class: "c-meta" },
        h("span", { class: "c-dots", title: r.instances.join(", ") }, r.instances.slice(0, 8).map((i) => h("i", { style: "--c:" + colors.get(i) }))),
        h("span", { class: "c-spans" }, TP.plural(r.spans, "span")),
        h("span", null, TP.plural(r.traces, "trace")),
        h("span", null, TP.plural(r.instances.length, "instance")),
        r.errors ? h("span", { class: "c-err" }, TP.plural(r.errors, "error")) : null
      )
    );
    r._fresh = false;
    return el;
  }

  async function loadList(reset) {
    try {
      const offset = reset ? 0 : state.rows.length;
      const res = await getJSON("correlations", { offset: offset, limit: 50, q: state.filter });
      state.rows = reset ? res.rows : mergeRows(state.rows, res.rows, false);
      state.total = res.total;
      renderList();
      showNotice("");
      return res.seq;
    } catch (e) {
      showNotice("Could not load correlations: " + e.message);
      return 0;
    }
  }

  function matchesFilter(r) {
    const f = state.filter.toLowerCase();
    return !f || r.values.some((v) => v.toLowerCase().includes(f));
  }

  // mergeRows puts updated rows in: a row replaces any that shares a value
  // with it (values regroup when a trace gains a second one), and the list
  // stays newest first.
  function mergeRows(cur, updates, live) {
    let out = cur.slice();
    for (const u of updates) {
      if (!matchesFilter(u)) continue;
      const before = out.length;
      out = out.filter((r) => !r.values.some((v) => u.values.includes(v)));
      if (live && out.length === before) state.total++;
      if (live && out.length < before - 1) state.total -= before - 1 - out.length;
      u._fresh = live;
      out.push(u);
    }
    out.sort((a, b) => TP.parseTime(b.last) - TP.parseTime(a.last) || (a.values[0] < b.values[0] ? -1 : 1));
    return out;
  }

  // ---- selection ----
  async function select(sel) {
    state.selected = sel;
    const q = new URLSearchParams(location.search);
    q.delete("c");
    q.delete("all");
    if (sel.all) q.set("all", "1");
    else q.set("c", sel.value);
    history.replaceState(null, "", "?" + q.toString());
    renderList();
    renderHead();
    placeholder.hidden = true;
    wfCard.hidden = false;
    detail.close();
    try {
      const res = await getJSON("spans", sel.all ? { all: 1, limit: ALL_CAP } : { correlation: sel.value });
      if (state.selected !== sel) return; // another click came first
      wf.selected = null;
      wf.set(res.spans);
      if (res.total > res.spans.length && !sel.all) showNotice("Showing the first " + res.spans.length + " of " + res.total + " spans of this correlation.");
      else showNotice("");
      renderHead();
      connect(res.seq);
    } catch (e) {
      showNotice("Could not load spans: " + e.message);
    }
  }

  function renderHead() {
    renderHeadContent();
    // The waterfall's time axis sticks below this header.
    document.documentElement.style.setProperty("--head-top", contentHead.offsetHeight + "px");
  }
  function renderHeadContent() {
    const sel = state.selected;
    if (!sel) {
      TP.fill(contentHead, h("h2", { style: "font-family:var(--sans)" }, "No correlation selected"));
      return;
    }
    if (sel.all) {
      TP.fill(contentHead, h("h2", { style: "font-family:var(--sans)" }, "All recent spans"), h("span", { class: "spacer" }), h("div", { class: "facts" }, h("span", null, h("b", null, wf.spans.size.toLocaleString("en-US")), " shown")));
      return;
    }
    const r = state.rows.find((x) => x.values.includes(sel.value));
    const spans = [...wf.spans.values()];
    const traces = new Set(spans.map((s) => s.trace_id)).size;
    const errors = spans.filter((s) => s._err).length;
    const insts = new Set(spans.map((s) => s.instance)).size;
    TP.fill(
      contentHead,
      h("h2", { id: "selected-value", title: sel.value }, sel.value),
      r && r.values.length > 1 ? h("span", { class: "chip" }, "also " + r.values.filter((v) => v !== sel.value).join(", ")) : null,
      h("span", { class: "spacer" }),
      h(
        "div",
        { class: "facts" },
        h("span", null, h("b", null, String(spans.length)), spans.length === 1 ? " span" : " spans"),
        h("span", null, h("b", null, String(traces)), traces === 1 ? " trace" : " traces"),
        h("span", null, h("b", null, String(insts)), insts === 1 ? " instance" : " instances"),
        h("span", { class: errors ? "err" : null }, h("b", null, String(errors)), errors === 1 ? " error" : " errors")
      )
    );
  }

  // ---- stream ----
  function connect(after) {
    if (state.es) state.es.close();
    const sel = state.selected;
    const q = { after: after };
    if (sel && sel.all) q.all = 1;
    else if (sel) q.correlation = sel.value;
    const es = new EventSource(apiURL("stream", q));
    state.es = es;
    es.addEventListener("hello", () => setConn(true));
    es.addEventListener("batch", (e) => {
      const b = JSON.parse(e.data);
      state.seq = b.seq;
      if (b.correlations.length) {
        state.rows = mergeRows(state.rows, b.correlations, true);
        renderList();
      }
      if (b.spans.length && state.selected === sel) {
        wf.add(b.spans);
        if (sel.all && wf.spans.size > ALL_CAP) trimOldest(wf.spans.size - ALL_CAP);
        setTimeout(renderHead, 20);
      }
    });
    es.addEventListener("stats", (e) => {
      const s = JSON.parse(e.data);
      state.clockSkew = Date.parse(s.now) - Date.now();
      state.stats = s;
      renderStats();
    });
    es.addEventListener("reset", () => {
      wf.set([]);
      loadList(true);
    });
    es.onerror = () => setConn(false, es.readyState === EventSource.CLOSED ? "disconnected; reload to retry" : "reconnecting…");
    es.onopen = () => setConn(true);
  }

  function trimOldest(n) {
    const byArrival = [...wf.spans.values()].sort((a, b) => (a.seq || 0) - (b.seq || 0));
    for (let i = 0; i < n; i++) wf.spans.delete(byArrival[i].key);
  }

  function setConn(on, why) {
    conn.className = "conn " + (on ? "on" : "off");
    conn.querySelector(".conn-text").textContent = on ? "connected" : why;
  }

  // ---- sink panel ----
  function renderStats() {
    const s = state.stats;
    if (!s) return;
    const refusedTotal = Object.values(s.refused).reduce((a, b) => a + b, 0);
    TP.fill(
      topFacts,
      h("span", null, h("b", null, s.stored.toLocaleString("en-US")), " stored"),
      h("span", null, h("b", null, s.spans.toLocaleString("en-US")), " accepted"),
      h("span", null, h("b", null, s.requests.toLocaleString("en-US")), " requests"),
      h("span", { class: refusedTotal + s.decode_errors ? "err" : null, id: "refused-total" }, h("b", null, String(refusedTotal + s.decode_errors)), " refused"),
      s.evicted ? h("span", { class: "err" }, h("b", null, String(s.evicted)), " evicted") : null
    );
    const table = (cls, rows) => h("table", { class: cls }, h("tbody", null, rows));
    const parts = [];
    parts.push(h("h3", null, "Senders"));
    const SENDERS_SHOWN = 12;
    parts.push(
      s.senders.length
        ? table(
            "senders",
            s.senders.slice(0, SENDERS_SHOWN).map((x) =>
              h("tr", { class: "sender", dataset: { sender: x.sender } }, h("td", { class: "k" }, x.sender), h("td", { class: "n" }, TP.plural(x.requests, "req"), " · ", TP.plural(x.spans, "span")), h("td", { class: "n ago", dataset: { t: x.last_seen } }, ago(x.last_seen)))
            )
          )
        : h("div", { class: "empty-note" }, "No requests yet.")
    );
    if (s.senders.length > SENDERS_SHOWN) parts.push(h("div", { class: "empty-note" }, TP.plural(s.senders.length - SENDERS_SHOWN, "quieter sender") + " not shown"));
    if (s.instances.length) {
      parts.push(h("h3", null, "Instances"));
      parts.push(
        table(
          "instances",
          s.instances.map((x) =>
            h("tr", null, h("td", { class: "k" }, h("span", { class: "swatch", style: "background:" + colors.get(x.instance) + ";margin-right:6px;vertical-align:-1px" }), x.instance), h("td", { class: "n" }, TP.plural(x.spans, "span")), h("td", { class: "n ago", dataset: { t: x.last_seen } }, ago(x.last_seen)))
          )
        )
      );
    }
    parts.push(h("h3", null, "Refused requests"));
    const refused = Object.entries(s.refused).sort();
    if (s.decode_errors) refused.push(["body did not decode", s.decode_errors]);
    if (s.rejected) refused.push(["spans with all-zero IDs (rejected)", s.rejected]);
    parts.push(refused.length ? table("refused", refused.map(([k, n]) => h("tr", { class: "refused-row", dataset: { reason: k } }, h("td", { class: "k" }, k), h("td", { class: "n" }, String(n))))) : h("div", { class: "empty-note" }, "None."));
    const unknown = Object.entries(s.unknown_paths).sort();
    if (unknown.length) {
      parts.push(h("h3", null, "Unknown paths"));
      parts.push(table("refused unknown", unknown.map(([k, n]) => h("tr", null, h("td", { class: "k" }, k), h("td", { class: "n" }, String(n))))));
    }
    if (s.last_errors.length) {
      parts.push(h("h3", null, "Last errors sent to clients"));
      for (const e of s.last_errors.slice().reverse()) parts.push(h("div", { class: "errline" }, e));
    }
    TP.fill(sinkPanel, parts);
    if (state.selected && state.selected.all) renderHead();
    const allItem = list.querySelector(".corr.all .c-ago");
    if (allItem) allItem.textContent = TP.plural(s.stored, "span") + " stored";
  }

  // The "3s ago" labels follow the clock; the data itself is pushed.
  setInterval(() => {
    for (const el of document.querySelectorAll("[data-t]")) el.textContent = ago(el.dataset.t);
  }, 1000);

  let filterTimer = 0;
  search.addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      state.filter = search.value.trim();
      loadList(true);
    }, 150);
  });

  // ---- start ----
  (async function start() {
    renderHead();
    const seq = await loadList(true);
    const c = params.get("c");
    if (c) select({ value: c });
    else if (params.get("all") === "1") select({ all: true });
    else connect(seq);
  })();
})();
