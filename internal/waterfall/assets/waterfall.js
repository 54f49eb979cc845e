// traceproof waterfall: the shared drawing code of the failure page and the
// live view. Plain JavaScript, no library, no build step. Spans arrive in the
// JSON form of traceproof's API (trace_id, span_id, parent_span_id, name,
// kind, start, end, status, attributes, events, links, resource, scope,
// service, instance, sender, received, correlations).
(function () {
  "use strict";
  const TP = (window.TP = window.TP || {});

  // h builds an element: h("div", {class: "x", onclick: f}, child, ...).
  // Children are nodes or text (never parsed as HTML).
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const k in attrs) {
        const v = attrs[k];
        if (v == null || v === false) continue;
        if (k === "class") el.className = v;
        else if (k === "style") el.style.cssText = v;
        else if (k === "dataset") Object.assign(el.dataset, v);
        else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (const c of children.flat(Infinity)) {
      if (c == null || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }
  TP.h = h;

  // fill replaces el's children as h takes them (arrays flattened, null and
  // false left out).
  TP.fill = (el, ...children) => el.replaceChildren(...h("div", null, ...children).childNodes);

  // parseTime reads RFC 3339 with up to nanoseconds into milliseconds since
  // a base second (the first time read), so that differences keep their
  // nanoseconds: as milliseconds since 1970 a double keeps only about a
  // quarter of a microsecond, and Date only milliseconds.
  const timeRE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;
  let base = NaN;
  function parseTime(s) {
    if (!s) return NaN;
    const m = timeRE.exec(s);
    const sec = m ? Date.parse(m[1] + m[3]) : Date.parse(s);
    if (!isFinite(sec)) return NaN;
    if (!isFinite(base)) base = sec;
    return sec - base + (m && m[2] ? parseFloat("0" + m[2]) * 1000 : 0);
  }
  TP.parseTime = parseTime;
  // clockUTC writes a time from parseTime as a UTC wall clock, to the
  // millisecond (the resolution at which hosts' clocks compare at all).
  TP.clockUTC = (t) => (isFinite(t) && isFinite(base) ? new Date(Math.round(base + t)).toISOString().slice(11, 23) + " UTC" : "");

  // fmtDur writes a duration in milliseconds as Go would round it for a
  // reader: 150µs, 1.8ms, 2.41s, 3m5s.
  function fmtDur(ms) {
    if (!isFinite(ms)) return "";
    const neg = ms < 0 ? "-" : "";
    ms = Math.abs(ms);
    const sig = (x) => (x >= 100 ? Math.round(x).toString() : x >= 10 ? trim(x.toFixed(1)) : trim(x.toFixed(2)));
    let out;
    if (ms === 0) out = "0";
    else if (ms < 0.001) out = Math.round(ms * 1e6) + "ns";
    else if (ms < 1) out = sig(ms * 1000) + "µs";
    else if (ms < 1000) out = sig(ms) + "ms";
    else if (ms < 60000) out = sig(ms / 1000) + "s";
    else {
      const m = Math.floor(ms / 60000);
      out = m + "m" + Math.round((ms - m * 60000) / 1000) + "s";
    }
    return neg + out;
  }
  function trim(s) {
    return s.indexOf(".") < 0 ? s : s.replace(/\.?0+$/, "");
  }
  TP.fmtDur = fmtDur;

  // fmtAgo writes how long ago a time was, coarsely.
  TP.fmtAgo = function (ms) {
    if (!isFinite(ms)) return "";
    if (ms < 1000) return "just now";
    const s = Math.floor(ms / 1000);
    if (s < 60) return s + "s ago";
    const m = Math.floor(s / 60);
    if (m < 60) return m + "m ago";
    const hr = Math.floor(m / 60);
    if (hr < 48) return hr + "h ago";
    return Math.floor(hr / 24) + "d ago";
  };

  TP.plural = (n, one, many) => n.toLocaleString("en-US") + " " + (n === 1 ? one : many || one + "s");

  // Colors gives each instance a colour, in the order instances are first
  // asked for; red and amber are kept for errors and highlights.
  const PALETTE = ["#2563eb", "#0d9488", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#4f46e5", "#059669", "#c026d3", "#0369a1", "#475569", "#9d5a00"];
  class Colors {
    constructor() {
      this.map = new Map();
    }
    get(instance) {
      let c = this.map.get(instance);
      if (!c) {
        const i = this.map.size;
        c = i < PALETTE.length ? PALETTE[i] : "hsl(" + Math.round((i * 137.508) % 360) + " 55% 45%)";
        this.map.set(instance, c);
      }
      return c;
    }
  }
  TP.Colors = Colors;

  TP.spanKey = (traceID, spanID) => traceID + ":" + spanID;

  // prepare adds what drawing needs to a span from the JSON.
  function prepare(s) {
    s.key = TP.spanKey(s.trace_id, s.span_id);
    s._start = parseTime(s.start);
    s._end = parseTime(s.end);
    if (!isFinite(s._end) || s._end < s._start) s._end = s._start;
    s._err = !!(s.status && s.status.code === "error");
    s.instance = s.instance || s.sender || "unknown";
    s.attributes = s.attributes || {};
    s.events = s.events || [];
    return s;
  }
  TP.prepare = prepare;

  // niceStep picks a grid step of 1, 2 or 5 times a power of ten so that
  // about `want` steps span total.
  function niceStep(total, want) {
    const raw = total / want;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
    return 10 * p;
  }

  // valueNode renders a typed attribute value.
  function valueNode(v) {
    if (v === null || v === undefined) return h("span", { class: "v-null" }, "null");
    if (typeof v === "number") return h("span", { class: "v-num" }, String(v));
    if (typeof v === "boolean") return h("span", { class: "v-bool" }, String(v));
    if (typeof v === "object") return h("span", { class: "v-obj" }, JSON.stringify(v));
    return h("span", { class: "v-str" }, v);
  }
  TP.valueNode = valueNode;

  function kvTable(obj, cls) {
    const keys = Object.keys(obj || {});
    if (keys.length === 0) return h("div", { class: "empty-note" }, "none");
    return h("table", { class: "kv" + (cls ? " " + cls : "") }, h("tbody", null, keys.map((k) => h("tr", null, h("th", null, k), h("td", null, valueNode(obj[k]))))));
  }
  TP.kvTable = kvTable;

  // headline is what tells one trace from the next when their roots share
  // a name: a domain event's name, an HTTP route, an RPC method.
  const HEADLINE_KEYS = ["event_name", "http.route", "url.path", "http.target", "rpc.method", "messaging.destination.name", "db.operation.name", "db.operation"];
  function headline(s) {
    for (const k of HEADLINE_KEYS) {
      const v = s.attributes[k];
      if (typeof v === "string" && v) return v;
    }
    return "";
  }

  // Waterfall draws spans, grouped by trace and nested by parent, on one
  // shared timeline. Options: colors (a Colors), onSelect(span), pageSize
  // (span rows drawn before "show more"), highlight ([{trace_id, span_id,
  // event, note}]).
  class Waterfall {
    constructor(root, opts) {
      this.root = root;
      this.opts = opts || {};
      this.colors = this.opts.colors || new Colors();
      this.spans = new Map();
      this.highlight = new Map();
      this.pageSize = this.opts.pageSize || 300;
      this.limit = this.pageSize;
      this.collapsed = new Set();
      this.selected = null;
      this.timer = 0;
      this.setHighlight(this.opts.highlight || []);
    }
    setHighlight(list) {
      this.highlight.clear();
      for (const r of list) {
        const k = TP.spanKey(r.trace_id, r.span_id);
        const cur = this.highlight.get(k) || { notes: [], events: new Set() };
        if (r.note) cur.notes.push(r.note);
        if (r.event) cur.events.add(r.event);
        this.highlight.set(k, cur);
      }
    }
    // set replaces the spans and draws at once.
    set(spans) {
      this.spans.clear();
      this.limit = this.pageSize;
      for (const s of spans) this.spans.set(TP.spanKey(s.trace_id, s.span_id), prepare(s));
      this.render();
    }
    // add merges spans (a span seen again replaces its old copy) and draws
    // soon, once for a burst.
    add(spans) {
      for (const s of spans) this.spans.set(TP.spanKey(s.trace_id, s.span_id), prepare(s));
      if (!this.timer) {
        this.timer = setTimeout(() => {
          this.timer = 0;
          this.render();
        }, 16);
      }
    }
    get(key) {
      return this.spans.get(key);
    }
    instances() {
      const counts = new Map();
      for (const s of this.spans.values()) counts.set(s.instance, (counts.get(s.instance) || 0) + 1);
      return [...counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    }
    // layout orders traces by their first start and each trace's spans as a
    // tree (children by start time); a span whose parent is missing heads
    // its own subtree, marked as an orphan.
    layout() {
      const traces = new Map();
      for (const s of this.spans.values()) {
        let t = traces.get(s.trace_id);
        if (!t) traces.set(s.trace_id, (t = { id: s.trace_id, spans: [], start: Infinity, end: -Infinity, errors: 0 }));
        t.spans.push(s);
        if (isFinite(s._start)) t.start = Math.min(t.start, s._start);
        if (isFinite(s._end)) t.end = Math.max(t.end, s._end);
        if (s._err) t.errors++;
      }
      const byStart = (a, b) => a._start - b._start || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.span_id < b.span_id ? -1 : 1);
      const list = [...traces.values()].sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
      for (const t of list) {
        const ids = new Set(t.spans.map((s) => s.span_id));
        const kids = new Map();
        const roots = [];
        for (const s of t.spans) {
          if (s.parent_span_id && ids.has(s.parent_span_id) && s.parent_span_id !== s.span_id) {
            if (!kids.has(s.parent_span_id)) kids.set(s.parent_span_id, []);
            kids.get(s.parent_span_id).push(s);
          } else roots.push(s);
        }
        roots.sort(byStart);
        t.rows = [];
        const seen = new Set();
        const walk = (s, depth) => {
          if (seen.has(s.key)) return;
          seen.add(s.key);
          t.rows.push({ span: s, depth: depth, orphan: depth === 0 && !!s.parent_span_id });
          const cs = (kids.get(s.span_id) || []).sort(byStart);
          for (const c of cs) walk(c, depth + 1);
        };
        for (const r of roots) walk(r, 0);
        const root = roots.find((s) => !s.parent_span_id) || roots[0];
        t.title = root ? root.name : t.id;
        t.headline = root ? headline(root) : "";
      }
      return list;
    }
    render() {
      const traces = this.layout();
      let min = Infinity;
      let max = -Infinity;
      for (const t of traces) {
        min = Math.min(min, t.start);
        max = Math.max(max, t.end);
      }
      if (!isFinite(min)) (min = 0), (max = 1);
      if (!(max > min)) max = min + 0.001;
      const total = max - min;
      const step = niceStep(total, 6);
      const pct = (ms) => ((ms - min) / total) * 100;
      this.min = min;

      const frag = document.createDocumentFragment();
      const ticks = [];
      for (let x = 0; x <= total + step / 1000; x += step) ticks.push(h("div", { class: "tick", style: "left:" + (x / total) * 100 + "%" }, fmtDur(x)));
      if (this.spans.size > 0) frag.append(h("div", { class: "wf-head" }, h("div", { class: "cell-name" }, "Span", h("span", { class: "t0", title: "the timeline starts at the first span's start" }, "0 = " + TP.clockUTC(min))), h("div", { class: "cell-tl" }, h("div", { class: "tl-track" }, ticks))));
      const body = h("div", { class: "wf-body", style: "--grid-step:" + (step / total) * 100 + "%" });
      let drawn = 0;
      let hidden = 0;
      const sel = this.selected;
      for (const t of traces) {
        if (drawn >= this.limit) {
          hidden += t.spans.length;
          continue;
        }
        const collapsed = this.collapsed.has(t.id);
        const insts = [...new Set(t.spans.map((s) => s.instance))].sort();
        const trow = h(
          "div",
          { class: "row trace-row" + (collapsed ? " collapsed" : "") + (t.errors ? " error" : ""), dataset: { traceId: t.id }, title: "trace " + t.id, onclick: () => this.toggle(t.id) },
          h(
            "div",
            { class: "cell-name" },
            h("span", { class: "twisty" }, "▾"),
            h("span", { class: "trace-title" }, t.headline || t.title),
            h("span", { class: "trace-meta" }, (t.headline ? t.title + " · " : "") + TP.plural(t.spans.length, "span") + " · " + insts.join(", ")),
            t.errors ? h("span", { class: "trace-err" }, TP.plural(t.errors, "error")) : null,
            h("span", { class: "trace-id" }, t.id.slice(0, 8))
          ),
          h("div", { class: "cell-tl" }, h("div", { class: "tl-track" }, h("div", { class: "trace-extent", style: "left:" + pct(t.start) + "%;width:" + Math.max(pct(t.end) - pct(t.start), 0.2) + "%" }), h("span", { class: "dur", style: "left:" + pct(t.end) + "%" }, fmtDur(t.end - t.start))))
        );
        body.append(trow);
        if (collapsed) continue;
        for (const r of t.rows) {
          if (drawn >= this.limit) {
            hidden++;
            continue;
          }
          body.append(this.spanRow(r, pct, sel));
          drawn++;
        }
      }
      frag.append(body);
      if (this.spans.size === 0) frag.append(h("div", { class: "wf-empty" }, this.opts.emptyText || "No spans."));
      if (hidden > 0) {
        frag.append(
          h(
            "div",
            { class: "wf-more" },
            h("span", null, TP.plural(hidden, "more span") + " not drawn"),
            h("button", { class: "show-more", onclick: () => ((this.limit += this.pageSize), this.render()) }, "Show " + Math.min(hidden, this.pageSize) + " more"),
            h("button", { class: "show-all", onclick: () => ((this.limit = Infinity), this.render()) }, "Show all")
          )
        );
      }
      this.root.replaceChildren(h("div", { class: "wf" }, frag));
      if (this.opts.onRender) this.opts.onRender(this);
    }
    spanRow(r, pct, sel) {
      const s = r.span;
      const c = this.colors.get(s.instance);
      const hl = this.highlight.get(s.key);
      const left = pct(s._start);
      const width = Math.max(pct(s._end) - left, 0);
      const dur = s._end - s._start;
      const marks = [];
      for (const e of s.events) {
        const t = parseTime(e.time);
        if (!isFinite(t)) continue;
        const on = hl && hl.events.has(e.name);
        marks.push(h("div", { class: "ev-mark" + (on ? " hl" : ""), style: "left:" + pct(t) + "%", title: e.name + "  +" + fmtDur(t - s._start), dataset: { event: e.name } }));
      }
      let tip = s.name + "\n" + s.instance + " · " + fmtDur(dur);
      if (s._err) tip += "\nstatus: error" + (s.status.message ? " — " + s.status.message : "");
      if (hl) for (const n of hl.notes) tip += "\n" + n;
      const cls = "row span-row" + (s._err ? " error" : "") + (hl ? " highlight" : "") + (sel === s.key ? " selected" : "");
      return h(
        "div",
        { class: cls, style: "--c:" + c, title: tip, dataset: { key: s.key, spanId: s.span_id, traceId: s.trace_id, instance: s.instance }, onclick: () => this.select(s.key) },
        h(
          "div",
          { class: "cell-name" },
          h("span", { class: "stripe" }),
          h("span", { class: "indent", style: "width:" + r.depth * 16 + "px" }),
          r.depth > 0 ? h("span", { class: "branch" }) : null,
          s._err ? h("span", { class: "status-icon", title: "status error" }, "!") : null,
          h("span", { class: "span-name" }, s.name || "(unnamed)"),
          r.orphan ? h("span", { class: "orphan-tag", title: "parent " + s.parent_span_id + " is not among these spans" }, "orphan") : null,
          hl ? h("span", { class: "hl-tag" }, "report") : null,
          h("span", { class: "inst-tag" }, s.instance)
        ),
        h("div", { class: "cell-tl" }, h("div", { class: "tl-track" }, h("div", { class: "bar", style: "left:" + left + "%;width:" + width + "%" }), marks, h("span", { class: "dur", style: "left:" + (left + width) + "%" }, fmtDur(dur))))
      );
    }
    toggle(traceID) {
      if (this.collapsed.has(traceID)) this.collapsed.delete(traceID);
      else this.collapsed.add(traceID);
      this.render();
    }
    // select marks a span's row, scrolls it into view and tells onSelect.
    select(key, scroll) {
      const s = this.spans.get(key);
      if (!s) return false;
      this.selected = key;
      for (const el of this.root.querySelectorAll(".span-row.selected")) el.classList.remove("selected");
      let row = this.root.querySelector('.span-row[data-key="' + CSS.escape(key) + '"]');
      if (!row) {
        // Hidden by the row cap or a collapsed trace: draw everything.
        this.collapsed.delete(s.trace_id);
        this.limit = Infinity;
        this.render();
        row = this.root.querySelector('.span-row[data-key="' + CSS.escape(key) + '"]');
      }
      if (row) {
        row.classList.add("selected");
        if (scroll) row.scrollIntoView({ block: "center" });
      }
      if (this.opts.onSelect) this.opts.onSelect(s, this.highlight.get(key));
      return true;
    }
  }
  TP.Waterfall = Waterfall;

  // Legend lists the instances with their colours and counts, and the marks.
  TP.renderLegend = function (el, wf) {
    const items = wf.instances().map(([name, n]) =>
      h("span", { class: "legend-item instance", dataset: { instance: name } }, h("span", { class: "swatch", style: "background:" + wf.colors.get(name) }), h("span", { class: "name" }, name), h("span", { class: "count" }, n))
    );
    TP.fill(
      el,
      h("span", { class: "lg-title" }, "Instances"),
      items.length ? items : h("span", { class: "faint" }, "none yet"),
      h("span", { class: "lg-sep" }),
      h("span", { class: "legend-item" }, h("span", { class: "swatch err" }), "error"),
      h("span", { class: "legend-item" }, h("span", { class: "swatch ev" }), "span event"),
      wf.highlight.size ? h("span", { class: "legend-item" }, h("span", { class: "swatch hl" }), "named in the report") : null
    );
  };

  // Detail is the side panel that shows one span in full.
  class Detail {
    constructor(wf) {
      this.wf = wf;
      this.el = h("aside", { class: "detail", id: "detail", "aria-hidden": "true" });
      document.body.append(this.el);
      document.addEventListener("keydown", (e) => {
        if (e.key === "Escape") this.close();
      });
    }
    close() {
      document.body.classList.remove("detail-open");
      this.el.classList.remove("open");
      this.el.setAttribute("aria-hidden", "true");
    }
    show(s, hl) {
      const wf = this.wf;
      const c = wf.colors.get(s.instance);
      const dur = s._end - s._start;
      const link = (key, text) =>
        wf.get(key)
          ? h(
              "a",
              {
                class: "idlink",
                href: "#",
                onclick: (e) => {
                  e.preventDefault();
                  wf.select(key, true);
                },
              },
              text
            )
          : text;
      const facts = [
        ["service", s.service || ""],
        ["instance", s.instance],
        ["duration", fmtDur(dur)],
        ["start", s.start || ""],
        ["end", s.end || ""],
        ["kind", s.kind || "unspecified"],
        ["trace id", s.trace_id],
        ["span id", s.span_id],
        ["parent id", s.parent_span_id ? link(TP.spanKey(s.trace_id, s.parent_span_id), s.parent_span_id) : "(root)"],
      ];
      if (s.correlations && s.correlations.length) facts.push(["correlations", s.correlations.join(", ")]);
      if (s.sender) facts.push(["sender", s.sender + (s.transport ? " (" + s.transport + (s.encoding ? "/" + s.encoding : "") + ")" : "")]);
      if (s.received) facts.push(["received", s.received]);
      if (s.scope && (s.scope.name || s.scope.version)) facts.push(["scope", (s.scope.name || "") + (s.scope.version ? " " + s.scope.version : "")]);
      const status = (s.status && s.status.code) || "unset";
      const evs = s.events.map((e) => {
        const t = parseTime(e.time);
        const on = hl && hl.events.has(e.name);
        return h(
          "div",
          { class: "ev-item" + (on ? " hl" : "") },
          h("div", { class: "ev-h" }, h("span", { class: "ev-t" }, isFinite(t) ? "+" + fmtDur(t - s._start) : ""), h("span", { class: "ev-n" }, e.name)),
          e.attributes && Object.keys(e.attributes).length ? kvTable(e.attributes) : null
        );
      });
      const links = (s.links || []).map((l) => h("div", { class: "mono" }, link(TP.spanKey(l.trace_id, l.span_id), l.trace_id + " / " + l.span_id), l.attributes ? kvTable(l.attributes) : null));
      const res = s.resource || {};
      TP.fill(
        this.el,
        h(
          "div",
          { class: "detail-h" },
          h(
            "div",
            { class: "title" },
            h("h3", { class: "detail-name" }, s.name || "(unnamed)"),
            h("div", { class: "sub" }, h("span", { class: "pill inst", style: "--c:" + c }, s.instance), h("span", { class: "pill status " + status }, status), h("span", { class: "pill" }, fmtDur(dur)))
          ),
          h("button", { class: "detail-close", title: "Close (Esc)", "aria-label": "Close", onclick: () => this.close() }, "×")
        ),
        h(
          "div",
          { class: "detail-body" },
          hl && hl.notes.length ? h("div", { class: "note" }, hl.notes.join("\n")) : null,
          s._err && s.status.message ? h("div", { class: "status-msg" }, "status error: " + s.status.message) : null,
          h("section", { class: "d-attrs" }, h("h4", null, "Attributes ", h("span", { class: "n" }, Object.keys(s.attributes).length)), kvTable(s.attributes)),
          h("section", { class: "d-events" }, h("h4", null, "Events ", h("span", { class: "n" }, s.events.length)), evs.length ? evs : h("div", { class: "empty-note" }, "none")),
          links.length ? h("section", { class: "d-links" }, h("h4", null, "Links ", h("span", { class: "n" }, links.length)), links) : null,
          h("section", { class: "d-span" }, h("h4", null, "Span"), h("table", { class: "kv facts-t" }, h("tbody", null, facts.map(([k, v]) => h("tr", null, h("th", null, k), h("td", null, v)))))),
          h("section", { class: "d-resource" }, h("h4", null, "Resource", res.schema_url ? h("span", { class: "n" }, " " + res.schema_url) : null), kvTable(res.attributes))
        )
      );
      this.el.classList.add("open");
      document.body.classList.add("detail-open");
      this.el.setAttribute("aria-hidden", "false");
    }
  }
  TP.Detail = Detail;

  // linkIDs fills el with text, turning span and trace IDs that wf holds into
  // links that select them.
  TP.linkIDs = function (el, text, wf, traceIDs, spanKeysByID) {
    const re = /\b([0-9a-f]{32}|[0-9a-f]{16})\b/g;
    let last = 0;
    let m;
    while ((m = re.exec(text))) {
      const id = m[1];
      let target = null;
      if (id.length === 16 && spanKeysByID.has(id)) target = spanKeysByID.get(id);
      if (id.length === 32 && traceIDs.has(id)) target = "trace:" + id;
      if (!target) continue;
      el.append(text.slice(last, m.index));
      const isHL = id.length === 16 && wf.highlight.has(target);
      el.append(
        h(
          "a",
          {
            class: "idlink" + (isHL ? " hl" : ""),
            href: "#",
            dataset: { target: target },
            onclick: (e) => {
              e.preventDefault();
              if (target.startsWith("trace:")) {
                const row = wf.root.querySelector('.trace-row[data-trace-id="' + id + '"]');
                if (row) row.scrollIntoView({ block: "center" });
              } else wf.select(target, true);
            },
          },
          id
        )
      );
      last = m.index + id.length;
    }
    el.append(text.slice(last));
  };
})();
