// traceproof failure page: draws the data embedded in #tp-data (title,
// report, highlight, spans) with the shared waterfall.
(function () {
  "use strict";
  const TP = window.TP;
  const h = TP.h;
  const data = JSON.parse(document.getElementById("tp-data").textContent);
  const spans = data.spans || [];
  const app = document.getElementById("app");

  const colors = new TP.Colors();
  // Colours by sorted instance name, so a page draws the same every time.
  [...new Set(spans.map((s) => s.instance || s.sender || "unknown"))].sort().forEach((i) => colors.get(i));

  const wfEl = h("div", { id: "waterfall" });
  let detail;
  const wf = new TP.Waterfall(wfEl, {
    colors: colors,
    highlight: data.highlight || [],
    pageSize: 500,
    emptyText: "No spans: nothing arrived for this correlation.",
    onSelect: (s, hl) => detail.show(s, hl),
  });
  detail = new TP.Detail(wf);
  wf.set(spans);

  const traces = new Set(spans.map((s) => s.trace_id));
  const errors = spans.filter((s) => s.status && s.status.code === "error").length;
  const instances = wf.instances();

  const fact = (n, what, cls) => h("span", { class: cls || null }, h("b", null, String(n)), " " + what);
  const top = h(
    "header",
    { class: "topbar" },
    h("div", { class: "brand" }, h("span", { class: "brand-mark" }), "traceproof"),
    h("span", { class: "sep" }),
    h("h1", { title: data.title }, data.title || "spans"),
    data.report ? h("span", { class: "badge badge-fail" }, "failed") : null,
    data.correlation ? h("span", { class: "chip", title: "correlation" }, data.correlation) : null,
    h("span", { class: "spacer" }),
    h(
      "div",
      { class: "facts" },
      fact(spans.length, spans.length === 1 ? "span" : "spans"),
      fact(traces.size, traces.size === 1 ? "trace" : "traces"),
      fact(instances.length, instances.length === 1 ? "instance" : "instances"),
      fact(errors, errors === 1 ? "error" : "errors", errors ? "err" : null)
    )
  );

  const main = h("main", { class: "page" });
  if (data.report) {
    const pre = h("pre", { class: "report-text", id: "report" });
    const spanKeys = new Map();
    for (const s of spans) if (!spanKeys.has(s.span_id)) spanKeys.set(s.span_id, TP.spanKey(s.trace_id, s.span_id));
    data.report.split("\n").forEach((line, i, all) => {
      if (i === all.length - 1 && line === "") return;
      const span = h("span", { class: lineClass(line, i) || null });
      TP.linkIDs(span, line, wf, traces, spanKeys);
      pre.append(span, "\n");
    });
    const card = h(
      "section",
      { class: "card report" },
      h(
        "div",
        { class: "card-h" },
        h("h2", null, "Assertion report"),
        wf.highlight.size ? h("span", { class: "badge badge-hl" }, TP.plural(wf.highlight.size, "span") + " highlighted") : null,
        h("span", { class: "spacer" }),
        h("button", { class: "expand", onclick: (e) => (e.target.textContent = card.classList.toggle("expanded") ? "Collapse" : "Expand") }, "Expand")
      ),
      pre
    );
    main.append(card);
  }
  const legend = h("div", { class: "legend", id: "legend" });
  TP.renderLegend(legend, wf);
  main.append(h("section", { class: "card wf-card" }, legend, wfEl));
  main.append(h("div", { class: "faint", style: "text-align:right;font-size:11px" }, "generated " + (data.generated || "") + " by traceproof · click a span for its attributes, events and resource · Esc closes"));
  app.replaceChildren(top, main);
  document.documentElement.style.setProperty("--head-top", "52px");

  // lineClass styles the report's lines: the question, the answer, section
  // heads, warnings, and checklist marks.
  function lineClass(line, i) {
    if (i === 0 && /^expected\b/.test(line)) return "r-lead";
    if (i === 1) return "r-found";
    if (/^WARNING\b/.test(line)) return "r-warn";
    if (/^\s*(✗|✘|×|FAIL|missing|MISSING)/.test(line) || /error sent to a client/.test(line)) return "r-bad";
    if (/^\s*(✓|✔|ok\b)/.test(line)) return "r-good";
    if (/^\S.*:$/.test(line) || /^\S[^:]*\):$/.test(line)) return "r-head";
    return "";
  }
})();
