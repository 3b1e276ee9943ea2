// The CHT101 safety and audit console: three views over the GraphQL API of this server.
//
// Rules it keeps: the token lives in sessionStorage and in request headers or the WebSocket's
// connection_init payload, never in a URL; every node is built with createElement and
// textContent (no HTML is parsed from data); nothing is fetched from another host; the page
// renders only what the API returned (PII masking and site scope are the server's).
"use strict";

(() => {
  const TOKEN_KEY = "cht101.console.token";
  const ENDPOINT = "/graphql";
  const SVG = "http://www.w3.org/2000/svg";
  const VISITS = ["M1", "M2", "M3", "M6", "M9", "M12"];
  const ENDPOINTS = ["SRI4", "DORIS", "REMISSION_OFF_THERAPY", "LLDAS", "CRR", "PRR", "ORR", "PERR"];
  const REFUSED_CLOSE_CODES = [4400, 4401, 4403]; // the server refused the connection: no retry

  // ---------- GraphQL documents ----------

  const AE_FIELDS = `aeId term category onsetOn ctcaeGrade serious seriousCriteria relatedness
    crsGrade icansGrade acuteGvhdGrade chronicGvhdSeverity resolvedOn awareAt reportedToSponsorAt
    reportingDueAt reportingOverdue daysFromInfusion`;
  const LEDGER_FIELDS = `asOf entries { participantId subjectId site event { ${AE_FIELDS} } }
    totals { participantsInfused participantsWithAe participantsWithSae crsAnyGrade crsGrade3Plus
      icansAnyGrade icansGrade3Plus acuteGvhdAnyGrade deaths overdueSaeReports }`;
  const SUMMARY_FIELDS = `asOf consented screenFailed eligible infused withdrawn
    screenFailuresByCriterion { code count } endpoints { endpoint visit responders evaluable rate }`;
  const LEDGER = `query { safetyLedger { ${LEDGER_FIELDS} } }`;
  const LEDGER_CHANGED = `subscription { safetyLedgerChanged { ${LEDGER_FIELDS} } }`;
  const SUMMARY = `query { studySummary { ${SUMMARY_FIELDS} } }`;
  const SUMMARY_CHANGED = `subscription { studySummaryChanged { ${SUMMARY_FIELDS} } }`;
  const PARTICIPANTS = `query { participants { id subjectId site status } }`;
  const TRAIL = `query($id: ID, $after: Int) { auditTrail(participantId: $id, after: $after, limit: 500) {
    entries { position participantId version eventType recordedAt actor actorRole actorSite reason
      data hash previousHash } nextAfter } }`;
  const CHAIN = `query { verifyAuditChain { ok streamsChecked eventsChecked
    firstBrokenParticipantId firstBrokenVersion } }`;
  const AS_OF = `query($id: ID!, $at: DateTime) {
    participant(id: $id, asOf: $at) { subjectId site status version asOf infusedAt
      eligibility { eligible }
      visits { visit visitDate sledai2k pga sri4 corrected }
      adverseEvents { aeId term ctcaeGrade serious resolvedOn reportingOverdue } }
    studySummary(asOf: $at) { asOf consented screenFailed eligible infused withdrawn } }`;

  // ---------- small helpers ----------

  const $ = (selector, root = document) => root.querySelector(selector);

  function el(tag, options = {}, children = []) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined && options.text !== null) node.textContent = String(options.text);
    for (const [name, value] of Object.entries(options.attrs || {})) node.setAttribute(name, value);
    for (const child of children) node.append(child);
    return node;
  }

  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  const show = (value) => (value === null || value === undefined ? "—" : String(value));
  const when = (iso) => (iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 19) + "Z" : "—");

  function duration(ms) {
    const total = Math.floor(Math.abs(ms) / 1000);
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const seconds = total % 60;
    const pad = (n) => String(n).padStart(2, "0");
    const clock = `${pad(hours % 24)}:${pad(minutes)}:${pad(seconds)}`;
    return hours < 24 ? `${hours}:${pad(minutes)}:${pad(seconds)}` : `${Math.floor(hours / 24)} d ${clock}`;
  }

  // The role, site and user named in the token, to choose which views to offer. The server
  // verifies the token on every request; nothing here relies on these claims for access.
  function claims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
    } catch (error) {
      return {};
    }
  }

  class Refusal extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
    toString() {
      return `refused: ${this.code} — ${this.message}`;
    }
  }

  function refusalOf(errors) {
    const first = errors[0] || {};
    const code = (first.extensions && first.extensions.code) || "ERROR";
    return new Refusal(code, first.message || "the server refused the request");
  }

  async function query(document, variables = {}) {
    const response = await fetch(ENDPOINT, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${state.token}` },
      body: JSON.stringify({ query: document, variables }),
      credentials: "omit",
    });
    let body;
    try {
      body = await response.json();
    } catch (error) {
      throw new Refusal(`HTTP ${response.status}`, response.statusText || "no JSON answer");
    }
    if (body.errors && body.errors.length) throw refusalOf(body.errors);
    return body.data;
  }

  function refuse(view, error) {
    const node = $(".refusal", view);
    node.textContent = error ? String(error) : "";
  }

  // ---------- state ----------

  const state = {
    token: null,
    claims: {},
    client: null,
    connection: "signed-out",
    ledger: null, // the latest SafetyLedger shown
    ledgerPushes: 0,
    summaryPushes: 0,
    summary: null,
    trail: [], // the chosen participant's audit entries, oldest first
  };

  function setConnection(connection, detail = "") {
    state.connection = connection;
    const node = $("#connection");
    node.dataset.state = connection;
    node.textContent = detail ? `${connection}: ${detail}` : connection;
  }

  // ---------- sign-in ----------

  function signIn(token) {
    state.token = token;
    state.claims = claims(token);
    sessionStorage.setItem(TOKEN_KEY, token);
    $("#sign-in").hidden = true;
    $("#tabs").hidden = false;
    $("#sign-out").hidden = false;
    const { sub, role, site } = state.claims;
    $("#who").textContent = [sub, role, site].filter(Boolean).join(" · ");
    const auditor = role === "AUDITOR" || role === "MONITOR";
    $('#tabs [data-view="audit"]').hidden = !auditor;
    connect();
    choose(location.hash.slice(1) || "safety");
  }

  // Signing out forgets the token and everything the page read with it: the page starts anew.
  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    if (state.client) state.client.dispose();
    location.reload();
  }

  function choose(name) {
    const known = ["safety", "study", "audit"];
    const view = known.includes(name) && !$(`#tabs [data-view="${name}"]`).hidden ? name : "safety";
    for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== view;
    for (const tab of document.querySelectorAll("#tabs button")) {
      tab.setAttribute("aria-pressed", String(tab.dataset.view === view));
    }
    if (location.hash.slice(1) !== view) history.replaceState(null, "", `#${view}`);
    if (view === "audit") loadAudit();
  }

  // ---------- the live connection ----------

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let connectedBefore = false;
    setConnection("connecting");
    const client = graphqlWs.createClient({
      url: `${scheme}://${location.host}${ENDPOINT}`,
      connectionParams: () => ({ Authorization: `Bearer ${state.token}` }),
      lazy: false,
      keepAlive: 10000,
      retryAttempts: Infinity,
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** retries, 4000))),
      shouldRetry: (event) => !(event && REFUSED_CLOSE_CODES.includes(event.code)),
      on: {
        connecting: () => setConnection(connectedBefore ? "reconnecting" : "connecting"),
        connected: () => {
          setConnection("live");
          // Pushes carry changes only: read the current views again after every (re)connection,
          // so that a change made while the socket was down is shown too.
          refreshLive();
          // The server takes a subscription's starting value when its subscribe message
          // arrives; read once more after that, so a change between the two is shown too.
          setTimeout(refreshLive, 750);
          connectedBefore = true;
        },
        closed: (event) => {
          if (client !== state.client) return;
          if (event && REFUSED_CLOSE_CODES.includes(event.code)) {
            setConnection("refused", `${event.code} ${event.reason || "Forbidden"}`);
            explainRefusal();
          } else if (state.connection === "live") {
            setConnection("reconnecting");
          }
        },
      },
    });
    state.client = client;
    subscribe(LEDGER_CHANGED, (data) => {
      state.ledgerPushes += 1;
      $("#safety").dataset.pushes = String(state.ledgerPushes);
      renderLedger(data.safetyLedgerChanged, true);
    }, $("#safety"));
    subscribe(SUMMARY_CHANGED, (data) => {
      state.summaryPushes += 1;
      renderSummary(data.studySummaryChanged, true);
    }, $("#study"));
  }

  function subscribe(document, onData, view) {
    state.client.subscribe({ query: document }, {
      next: (result) => {
        if (result.errors && result.errors.length) refuse(view, refusalOf(result.errors));
        else if (result.data) onData(result.data);
      },
      error: (error) => {
        if (Array.isArray(error)) refuse(view, refusalOf(error));
        else if (error && REFUSED_CLOSE_CODES.includes(error.code)) refuse(view, new Refusal(error.code, error.reason || "connection refused"));
        else if (error && typeof error.code === "number") {
          // The client gives up on this close: say so rather than "reconnecting" for good.
          setConnection("closed", `${error.code} ${error.reason || ""} — reload the page to retry`.trim());
        }
      },
      complete: () => {},
    });
  }

  // The socket's close code says only "Forbidden": ask over HTTP for the server's reason.
  async function explainRefusal() {
    try {
      await query(LEDGER);
    } catch (error) {
      if (error instanceof Refusal) setConnection("refused", `${error.code} — ${error.message}`);
    }
  }

  let refreshes = 0;
  async function refreshLive() {
    const round = ++refreshes;
    const pushesBefore = state.ledgerPushes;
    const summaryPushesBefore = state.summaryPushes;
    try {
      const data = await query(LEDGER);
      // A push that arrived meanwhile is at least as new as this answer.
      if (round === refreshes && state.ledgerPushes === pushesBefore) renderLedger(data.safetyLedger, state.ledger !== null);
      refuse($("#safety"), null);
    } catch (error) {
      refuse($("#safety"), error);
      if (error.code === "UNAUTHENTICATED") setConnection("refused", String(error.message));
    }
    try {
      const data = await query(SUMMARY);
      if (round === refreshes && state.summaryPushes === summaryPushesBefore) renderSummary(data.studySummary, state.summary !== null);
      refuse($("#study"), null);
    } catch (error) {
      refuse($("#study"), error);
    }
  }

  // ---------- safety view ----------

  const TOTALS = [
    ["participantsInfused", "Infused"],
    ["participantsWithAe", "With an AE"],
    ["participantsWithSae", "With an SAE"],
    ["crsAnyGrade", "CRS any grade"],
    ["crsGrade3Plus", "CRS grade ≥ 3"],
    ["icansAnyGrade", "ICANS any grade"],
    ["icansGrade3Plus", "ICANS grade ≥ 3"],
    ["acuteGvhdAnyGrade", "Acute GVHD"],
    ["deaths", "Deaths"],
    ["overdueSaeReports", "Overdue SAE reports"],
  ];

  const rowKey = (entry) => `${entry.participantId}/${entry.event.aeId}`;

  // The contract's rule for reportingOverdue, applied at this instant so that a clock running
  // out while the page is open turns red without waiting for a push.
  function overdue(event, now) {
    if (!event.reportingDueAt) return false;
    const due = Date.parse(event.reportingDueAt);
    if (event.reportedToSponsorAt) return Date.parse(event.reportedToSponsorAt) > due;
    return now > due;
  }

  function renderLedger(ledger, highlight) {
    const view = $("#safety");
    const before = new Map((state.ledger ? state.ledger.entries : []).map((e) => [rowKey(e), JSON.stringify(e)]));
    const totalsBefore = state.ledger ? state.ledger.totals : null;
    state.ledger = ledger;
    $(".as-of", view).textContent = ledger.asOf ? `as of ${when(ledger.asOf)}` : "live";

    const totals = $("#safety-totals");
    totals.replaceChildren();
    for (const [name, label] of TOTALS) {
      const changed = highlight && totalsBefore && totalsBefore[name] !== ledger.totals[name];
      totals.append(el("div", { className: changed ? "changed" : "", attrs: { "data-total": name } }, [
        el("dt", { text: label }),
        el("dd", { text: ledger.totals[name] }),
      ]));
    }

    const body = $("#ledger tbody");
    body.replaceChildren();
    for (const entry of ledger.entries) {
      const ae = entry.event;
      const row = el("tr", { attrs: { "data-key": rowKey(entry) } }, [
        el("td", { text: entry.subjectId }),
        el("td", { text: entry.site }),
        el("td", { text: ae.aeId }),
        el("td", { text: ae.term }),
        el("td", { text: ae.category }),
        el("td", { text: ae.onsetOn }),
        el("td", { text: show(ae.daysFromInfusion) }),
        el("td", { text: ae.ctcaeGrade, className: `grade g${ae.ctcaeGrade}` }),
        el("td", { text: show(ae.crsGrade) }),
        el("td", { text: show(ae.icansGrade) }),
        el("td", { text: show(ae.acuteGvhdGrade) }),
        el("td", { text: show(ae.chronicGvhdSeverity) }),
        el("td", { text: ae.serious ? `SAE: ${ae.seriousCriteria.join(", ")}` : "no", className: ae.serious ? "serious" : "" }),
        el("td", { text: ae.relatedness }),
        el("td", { text: show(ae.resolvedOn) }),
        el("td", { className: "clock" }),
      ]);
      if (ae.serious) row.classList.add("sae");
      const previous = before.get(rowKey(entry));
      if (highlight && previous !== JSON.stringify(entry)) row.classList.add("changed");
      body.append(row);
    }
    $(".empty", view).hidden = ledger.entries.length > 0;
    tick();
  }

  // Redraws the SAE clocks and the overdue count each second.
  function tick() {
    if (!state.ledger) return;
    const now = Date.now();
    const rows = document.querySelectorAll("#ledger tbody tr");
    state.ledger.entries.forEach((entry, index) => {
      const ae = entry.event;
      const cell = $(".clock", rows[index]);
      if (!cell) return;
      const late = ae.reportingOverdue || overdue(ae, now);
      cell.classList.toggle("overdue", late);
      if (!ae.reportingDueAt) cell.textContent = "—";
      else if (ae.reportedToSponsorAt) cell.textContent = `${late ? "reported late" : "reported"} ${when(ae.reportedToSponsorAt)}`;
      else {
        const left = Date.parse(ae.reportingDueAt) - now;
        cell.textContent = late ? `OVERDUE by ${duration(left)}` : `${duration(left)} left`;
      }
    });
    const count = state.ledger.entries.filter((e) => e.event.reportingOverdue || overdue(e.event, now)).length;
    const total = $('[data-total="overdueSaeReports"] dd');
    if (total) {
      total.textContent = String(count);
      total.parentElement.classList.toggle("overdue", count > 0);
    }
  }

  // ---------- study view ----------

  const FUNNEL = [
    ["consented", "Consented"],
    ["eligible", "Eligible"],
    ["screenFailed", "Screen failed"],
    ["infused", "Infused"],
    ["withdrawn", "Withdrawn"],
  ];

  function renderSummary(summary, highlight) {
    const view = $("#study");
    const before = state.summary;
    state.summary = summary;
    $(".as-of", view).textContent = summary.asOf ? `as of ${when(summary.asOf)}` : "live";

    const funnel = $("#funnel");
    const width = 520, bar = 26, gap = 8, labelWidth = 120;
    funnel.replaceChildren();
    funnel.setAttribute("viewBox", `0 0 ${width} ${FUNNEL.length * (bar + gap)}`);
    const most = Math.max(1, summary.consented);
    FUNNEL.forEach(([name, label], i) => {
      const y = i * (bar + gap);
      const length = ((width - labelWidth - 50) * summary[name]) / most;
      const changed = highlight && before && before[name] !== summary[name];
      const group = svg("g", { class: `stage ${name}${changed ? " changed" : ""}`, "data-stage": name });
      group.append(
        svg("text", { x: 0, y: y + bar * 0.7, class: "label" }, label),
        svg("rect", { x: labelWidth, y, width: Math.max(length, 1), height: bar, rx: 3 }),
        svg("text", { x: labelWidth + Math.max(length, 1) + 6, y: y + bar * 0.7, class: "value" }, summary[name]),
      );
      funnel.append(group);
    });

    const failures = $("#failures tbody");
    failures.replaceChildren();
    for (const row of summary.screenFailuresByCriterion) {
      failures.append(el("tr", {}, [el("td", { text: row.code }), el("td", { text: row.count })]));
    }
    if (!summary.screenFailuresByCriterion.length) {
      failures.append(el("tr", {}, [el("td", { text: "none", attrs: { colspan: "2" } })]));
    }

    const charts = $("#endpoints");
    charts.replaceChildren();
    for (const endpoint of ENDPOINTS) charts.append(endpointChart(endpoint, summary.endpoints));
  }

  function endpointChart(endpoint, rates) {
    const w = 240, h = 140, left = 34, right = 10, top = 10, bottom = 24;
    const x = (i) => left + (i * (w - left - right)) / (VISITS.length - 1);
    const y = (rate) => top + (1 - rate) * (h - top - bottom);
    const chart = svg("svg", { viewBox: `0 0 ${w} ${h}`, class: "chart endpoint", role: "img", "aria-label": `${endpoint} response rate by visit`, "data-endpoint": endpoint });
    for (const tick of [0, 0.5, 1]) {
      chart.append(svg("line", { x1: left, x2: w - right, y1: y(tick), y2: y(tick), class: "grid" }));
      chart.append(svg("text", { x: left - 4, y: y(tick) + 4, class: "axis", "text-anchor": "end" }, `${tick * 100}%`));
    }
    VISITS.forEach((visit, i) => chart.append(svg("text", { x: x(i), y: h - 6, class: "axis", "text-anchor": "middle" }, visit)));
    const points = VISITS.map((visit, i) => {
      const row = rates.find((r) => r.endpoint === endpoint && r.visit === visit);
      return row && row.rate !== null ? { i, row } : null;
    });
    // One line per run of visits with a rate; a visit without evaluable participants breaks it.
    let run = [];
    const flush = () => {
      if (run.length > 1) chart.append(svg("polyline", { points: run.map((p) => `${x(p.i)},${y(p.row.rate)}`).join(" "), class: "rate" }));
      run = [];
    };
    for (const point of points) {
      if (point) run.push(point);
      else flush();
    }
    flush();
    for (const point of points.filter(Boolean)) {
      const dot = svg("circle", { cx: x(point.i), cy: y(point.row.rate), r: 3.5, class: "rate" });
      dot.append(svg("title", {}, `${endpoint} ${point.row.visit}: ${point.row.responders}/${point.row.evaluable}`));
      chart.append(dot);
    }
    return el("figure", {}, [chart, el("figcaption", { text: endpoint.replace(/_/g, " ") })]);
  }

  // ---------- audit view ----------

  let auditLoaded = false;

  async function loadAudit() {
    if (auditLoaded) return;
    auditLoaded = true;
    const view = $("#audit");
    try {
      const { participants } = await query(PARTICIPANTS);
      const select = $("#participant");
      select.replaceChildren(el("option", { text: "— choose —", attrs: { value: "" } }));
      for (const p of participants) {
        select.append(el("option", { text: `${p.subjectId} (${p.site}, ${p.status})`, attrs: { value: p.id } }));
      }
      refuse(view, null);
    } catch (error) {
      refuse(view, error);
      auditLoaded = false;
    }
    verifyChain();
  }

  async function verifyChain() {
    const node = $("#chain");
    node.textContent = "verifying the audit chain…";
    try {
      const { verifyAuditChain: v } = await query(CHAIN);
      node.dataset.state = v.ok ? "ok" : "broken";
      node.textContent = v.ok
        ? `audit chain intact: ${v.streamsChecked} streams, ${v.eventsChecked} events checked`
        : `audit chain BROKEN at participant ${v.firstBrokenParticipantId}, version ${v.firstBrokenVersion}`;
    } catch (error) {
      node.dataset.state = "unknown";
      node.textContent = `audit chain not verified (${error.code}: ${error.message})`;
    }
  }

  let trailRounds = 0;
  async function loadTrail(id) {
    const view = $("#audit");
    const round = ++trailRounds; // a later choice of participant wins
    state.trail = [];
    $("#timeline").replaceChildren();
    $("#time-travel").hidden = true;
    if (!id) return;
    const trail = [];
    try {
      let after = null;
      do {
        const { auditTrail } = await query(TRAIL, { id, after });
        if (round !== trailRounds) return;
        trail.push(...auditTrail.entries);
        after = auditTrail.nextAfter;
      } while (after !== null && after !== undefined);
      refuse(view, null);
    } catch (error) {
      if (round === trailRounds) refuse(view, error);
      return;
    }
    state.trail = trail;
    renderTimeline();
    const slider = $("#slider");
    slider.max = String(trail.length - 1);
    slider.value = slider.max;
    $("#time-travel").hidden = trail.length === 0;
    travel();
  }

  // A leaf per path of a JSON value: {"score": {"pga": 3}} gives [["score.pga", "3"]].
  function leaves(value, path = "", out = []) {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) leaves(inner, path ? `${path}.${key}` : key, out);
    } else {
      out.push([path, JSON.stringify(value)]);
    }
    return out;
  }

  // What an entry changed: a correction against the visit's previous score, else its values.
  function changes(entry, scores) {
    const data = entry.data || {};
    if (entry.eventType === "VisitScored" || entry.eventType === "VisitCorrected") {
      const previous = scores.get(data.visit);
      scores.set(data.visit, data.score);
      if (entry.eventType === "VisitCorrected" && previous) {
        const old = new Map(leaves(previous));
        return leaves(data.score)
          .filter(([path, value]) => old.get(path) !== value)
          .map(([path, value]) => `${data.visit} ${path}: ${show(old.get(path))} → ${value}`);
      }
    }
    return leaves(data).filter(([, value]) => value !== "null").map(([path, value]) => `${path}: ${value}`);
  }

  function renderTimeline() {
    const list = $("#timeline");
    list.replaceChildren();
    const scores = new Map();
    state.trail.forEach((entry, index) => {
      const actor = [entry.actor, entry.actorRole, entry.actorSite].filter(Boolean).join(" · ");
      const item = el("li", { attrs: { "data-index": String(index), "data-position": String(entry.position) } }, [
        el("div", { className: "what" }, [
          el("strong", { text: entry.eventType }),
          el("span", { text: ` version ${entry.version} · position ${entry.position}` }),
        ]),
        el("div", { className: "who", text: `${when(entry.recordedAt)} — ${actor}` }),
      ]);
      if (entry.reason) item.append(el("div", { className: "why", text: `Reason: ${entry.reason}` }));
      const changed = changes(entry, scores);
      if (changed.length) {
        const details = el("details", {}, [el("summary", { text: `${changed.length} value${changed.length === 1 ? "" : "s"}` })]);
        details.append(el("ul", {}, changed.map((line) => el("li", { text: line }))));
        if (entry.eventType === "VisitCorrected") details.open = true;
        item.append(details);
      }
      item.append(el("div", { className: "hash", text: `hash ${entry.hash.slice(0, 16)}… after ${entry.previousHash ? entry.previousHash.slice(0, 16) + "…" : "none"}` }));
      list.append(item);
    });
  }

  let travels = 0;
  async function travel() {
    const index = Number($("#slider").value);
    const entry = state.trail[index];
    if (!entry) return;
    for (const item of document.querySelectorAll("#timeline > li")) {
      item.classList.toggle("current", Number(item.dataset.index) === index);
      item.classList.toggle("future", Number(item.dataset.index) > index);
    }
    $("#slider-at").textContent = `${when(entry.recordedAt)} — after version ${entry.version} (${entry.eventType})`;
    const round = ++travels;
    try {
      const data = await query(AS_OF, { id: entry.participantId, at: entry.recordedAt });
      if (round !== travels) return; // the slider moved on
      renderAsOf(data.participant, data.studySummary);
      refuse($("#audit"), null);
    } catch (error) {
      if (round === travels) refuse($("#audit"), error);
    }
  }

  function renderAsOf(participant, summary) {
    const view = $("#audit");
    for (const node of document.querySelectorAll("#audit .as-of")) node.textContent = `as of ${when(summary.asOf)}`;
    const box = $("#as-of-participant");
    box.replaceChildren();
    if (!participant) {
      box.append(el("p", { text: "not yet consented at that instant" }));
    } else {
      box.dataset.version = String(participant.version);
      box.append(el("p", {
        text: `${participant.subjectId} · ${participant.site} · ${participant.status} · version ${participant.version}` +
          (participant.eligibility ? ` · ${participant.eligibility.eligible ? "eligible" : "not eligible"}` : "") +
          (participant.infusedAt ? ` · infused ${when(participant.infusedAt)}` : ""),
      }));
      const visits = el("table", { className: "visits" }, [
        el("thead", {}, [el("tr", {}, ["Visit", "Date", "SLEDAI-2K", "PGA", "SRI-4", "Corrected"].map((h) => el("th", { text: h })))]),
      ]);
      const body = el("tbody");
      for (const v of participant.visits) {
        body.append(el("tr", { attrs: { "data-visit": v.visit } }, [
          el("td", { text: v.visit }), el("td", { text: v.visitDate }), el("td", { text: v.sledai2k }),
          el("td", { text: v.pga, className: "pga" }), el("td", { text: v.sri4 }), el("td", { text: v.corrected ? "yes" : "no" }),
        ]));
      }
      visits.append(body);
      if (participant.visits.length) box.append(visits);
      for (const ae of participant.adverseEvents) {
        box.append(el("p", { className: ae.reportingOverdue ? "overdue" : "", text: `${ae.aeId} ${ae.term}: grade ${ae.ctcaeGrade}${ae.serious ? ", serious" : ""}${ae.resolvedOn ? `, resolved ${ae.resolvedOn}` : ""}` }));
      }
    }
    const study = $("#as-of-study");
    study.replaceChildren();
    for (const [name, label] of FUNNEL) study.append(el("div", {}, [el("dt", { text: label }), el("dd", { text: summary[name] })]));
    view.dataset.asOf = summary.asOf;
  }

  // ---------- wiring ----------

  document.addEventListener("DOMContentLoaded", () => {
    $("#token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("#token").value.trim().replace(/^Bearer\s+/i, "");
      $("#token").value = "";
      if (token) signIn(token);
    });
    $("#sign-out").addEventListener("click", signOut);
    for (const tab of document.querySelectorAll("#tabs button")) {
      tab.addEventListener("click", () => choose(tab.dataset.view));
    }
    $("#participant").addEventListener("change", (event) => loadTrail(event.target.value));
    $("#slider").addEventListener("input", travel);
    setInterval(tick, 1000);
    const kept = sessionStorage.getItem(TOKEN_KEY);
    if (kept) signIn(kept);
  });
})();
