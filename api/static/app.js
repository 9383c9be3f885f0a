/* Reader page for the media provenance ledger.
 *
 * No build step, no external resources. Every string that comes from the server
 * (captions, names, credits, messages) is written with textContent, never innerHTML.
 */
(function () {
  "use strict";

  var VERIFY_URL = "v1/verify";
  var CHAIN_URL = "v1/chain";
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  var VERDICT_LEAD = {
    original: "Registered original",
    same_pixels: "Same pixels as a registered original",
    copy: "Copy of a registered original",
    edited: "Edited copy of a registered original",
    retracted: "Retracted by its publisher",
    similar_scene: "Not a copy, but a photograph of the same scene as a registered image",
    unknown: "No registered original found"
  };

  var MATCH_KIND = {
    exact: "identical file (same bytes)",
    pixels: "identical pixels (file re-saved or metadata removed)",
    pdq: "visually similar (perceptual hash)",
    crop: "part of the registered picture (perceptual hash of a crop)",
    keypoints: "found by its details (local features and the geometry that maps them)",
    similar: "visually similar (perceptual hash)"
  };

  // What a retracted answer is about (the verdict it would have had).
  var RELATION_WORDS = {
    original: "the registered original",
    same_pixels: "an identical copy of a registered image",
    copy: "a changed copy of a registered image",
    edited: "an edited copy of a registered image"
  };

  var $ = function (id) { return document.getElementById(id); };

  var els = {};
  var previewUrl = null;
  var requestSeq = 0;
  var currentController = null;

  // ---------------------------------------------------------------- helpers

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function isNonEmptyString(v) {
    return typeof v === "string" && v.trim() !== "";
  }

  function parseDate(iso) {
    if (!isNonEmptyString(iso) && typeof iso !== "number") return null;
    var d = new Date(iso);
    return isNaN(d.getTime()) ? null : d;
  }

  function pad2(n) { return (n < 10 ? "0" : "") + n; }

  /** "28 Nov 2026" (UTC), or the raw string if it cannot be parsed. */
  function formatDate(iso) {
    var d = parseDate(iso);
    if (!d) return iso == null ? "" : String(iso);
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear();
  }

  /** "28 Nov 2026, 17:00 UTC" */
  function formatDateTime(iso) {
    var d = parseDate(iso);
    if (!d) return iso == null ? "" : String(iso);
    return formatDate(iso) + ", " + pad2(d.getUTCHours()) + ":" + pad2(d.getUTCMinutes()) + " UTC";
  }

  function formatAgo(seconds) {
    if (typeof seconds !== "number" || !isFinite(seconds) || seconds < 0) return null;
    var s = Math.round(seconds);
    if (s < 60) return s === 1 ? "1 second ago" : s + " seconds ago";
    var m = Math.round(s / 60);
    if (m < 60) return m === 1 ? "1 minute ago" : m + " minutes ago";
    var h = Math.round(m / 60);
    if (h < 48) return h === 1 ? "1 hour ago" : h + " hours ago";
    var days = Math.round(h / 24);
    return days + " days ago";
  }

  /** "0x1234abcd…" for display; the full value goes in a title attribute. */
  function shortHex(hex, keep) {
    if (!isNonEmptyString(hex)) return "";
    keep = keep || 10;
    return hex.length > keep + 2 ? hex.slice(0, keep) + "…" : hex;
  }

  function isNumber(v) { return typeof v === "number" && isFinite(v); }

  function safeHttpUrl(url) {
    if (!isNonEmptyString(url)) return null;
    try {
      var u = new URL(url, window.location.href);
      if (u.protocol === "http:" || u.protocol === "https:") return u.href;
    } catch (e) { /* fall through */ }
    return null;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.className = "offscreen";
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(ta);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  /** A small "Copy" button that copies `value`; label describes what is copied. */
  function copyButton(value, what) {
    var btn = el("button", "copy-button", "Copy");
    btn.type = "button";
    btn.setAttribute("aria-label", "Copy " + what);
    btn.title = "Copy " + what;
    btn.addEventListener("click", function () {
      copyText(value).then(function () {
        btn.textContent = "Copied";
      }, function () {
        btn.textContent = "Copy failed";
      });
      window.setTimeout(function () { btn.textContent = "Copy"; }, 2000);
    });
    return btn;
  }

  /** <code title="full">short…</code> */
  function hexCode(value, keep) {
    var code = el("code", "hex", shortHex(value, keep));
    code.title = value;
    return code;
  }

  function publisherOf(m) {
    return (m && m.publisher) || {};
  }

  function publisherLabel(m) {
    var p = publisherOf(m);
    var name = isNonEmptyString(p.name) ? p.name : (isNonEmptyString(p.address) ? p.address : "an unnamed publisher");
    return isNonEmptyString(p.domain) ? name + " (" + p.domain + ")" : name;
  }

  function matchOrderKey(m) {
    return [
      isNumber(m.block_number) ? m.block_number : Number.MAX_SAFE_INTEGER,
      isNumber(m.log_index) ? m.log_index : Number.MAX_SAFE_INTEGER,
      (parseDate(m.registered_at) || { getTime: function () { return Number.MAX_SAFE_INTEGER; } }).getTime()
    ];
  }

  /** Earliest first (block, log index, registration time); stable otherwise. */
  function sortMatches(matches) {
    return matches
      .map(function (m, i) { return { m: m, i: i, k: matchOrderKey(m) }; })
      .sort(function (a, b) {
        for (var j = 0; j < a.k.length; j++) {
          if (a.k[j] !== b.k[j]) return a.k[j] < b.k[j] ? -1 : 1;
        }
        return a.i - b.i;
      })
      .map(function (x) { return x.m; });
  }

  function retractionOf(m) {
    var r = (m && typeof m.retraction === "object" && m.retraction) || {};
    return {
      at: m.retracted_at || r.retracted_at || r.at || null,
      reason: m.retraction_reason || r.reason || null
    };
  }

  // ---------------------------------------------------------------- verdict

  /**
   * Appends "published by NAME (DOMAIN) on DATE with the caption “CAPTION”" to `line`,
   * with the publisher in <strong>. All parts are text nodes.
   */
  function appendOrigin(line, m) {
    line.appendChild(document.createTextNode("published by "));
    line.appendChild(el("strong", null, publisherLabel(m)));
    if (m.registered_at) {
      line.appendChild(document.createTextNode(" on " + formatDate(m.registered_at)));
    }
    if (isNonEmptyString(m.caption)) {
      line.appendChild(document.createTextNode(" with the caption “"));
      line.appendChild(el("span", "caption-inline", m.caption));
      line.appendChild(document.createTextNode("”"));
    } else {
      line.appendChild(document.createTextNode(" with no caption"));
    }
  }

  function verdictNote(verdict, origin, data, publishers) {
    switch (verdict) {
      case "original":
        return "This is the exact file the publisher registered.";
      case "same_pixels":
        return "The file itself differs from the registered one (its metadata was stripped or it was " +
          "re-saved without loss), but the picture is identical, pixel for pixel.";
      case "copy": {
        var s = "The picture is the registered image, but this file is a copy that was changed without altering " +
          "what it shows (for example re-encoded, resized, cropped, rotated or put in a screenshot).";
        if (origin && isNonEmptyString(origin.transform)) s += " Likely change: " + origin.transform + ".";
        return s;
      }
      case "edited": {
        var e = "The picture is based on a registered image, but parts of it differ from what the publisher registered.";
        if (origin && isNonEmptyString(origin.edit_summary)) e += " " + origin.edit_summary;
        return e;
      }
      case "retracted": {
        var what = RELATION_WORDS[data.relation] || "this image";
        if (!origin) return "The publisher has withdrawn " + what + ".";
        if (publishers > 1) return "You have " + what + ", and every publisher that registered it withdrew its registration.";
        var r = retractionOf(origin);
        var t = "You have " + what + ", and the publisher withdrew it";
        if (r.at) t += " on " + formatDate(r.at);
        t += ".";
        if (isNonEmptyString(r.reason)) t += " Reason given: “" + r.reason + "”.";
        if (isLink(origin.successor)) t += " The publisher points to a corrected version, shown below.";
        return t;
      }
      case "similar_scene":
        return "This is a different photograph of the same scene (taken from another viewpoint or at another " +
          "moment) than the registered image named here. It is not a copy and nothing is said about edits; " +
          "what the registered image's publisher said it shows may help you judge this one.";
      case "unknown": {
        var upTo = isNumber(data.indexed_block) ? " up to block " + data.indexed_block : "";
        return "No image registered" + upTo + " matches this one. It may never have been registered, " +
          "may have been changed too much to be recognised, or may have been registered after the index was last updated.";
      }
      default:
        return null;
    }
  }

  /** One record per publisher, in the order given (earliest first): who registered the picture. */
  function publishersOf(matches) {
    var seen = {};
    var out = [];
    matches.forEach(function (m) {
      var key = publisherOf(m).address || publisherLabel(m);
      if (seen[key]) return;
      seen[key] = true;
      out.push(m);
    });
    return out;
  }

  function isRetracted(m) {
    var r = retractionOf(m);
    return m.retracted === true || !!r.at;
  }

  /** "Beta Wire (beta.example) and Daily Example (example.org)" as <strong> names. */
  function appendPublisherList(line, records) {
    records.forEach(function (m, i) {
      if (i > 0) line.appendChild(document.createTextNode(i === records.length - 1 ? " and " : ", "));
      line.appendChild(el("strong", null, publisherLabel(m)));
    });
  }

  /**
   * Several publishers registered the picture: none is named its owner. The earliest registration is said to be
   * the earliest (a time, not proof of authorship), and each retraction is said to be that publisher's own.
   */
  function severalPublishersNote(records) {
    var first = records.filter(function (m) { return m.earliest === true; })[0] || records[0];
    var s = records.length + " publishers registered this picture, each with its own caption (below). The earliest " +
      "registration is " + publisherLabel(first) + "'s";
    if (first.registered_at) s += ", on " + formatDateTime(first.registered_at);
    s += "; registering first does not show who took or owns the picture.";
    var withdrawn = records.filter(isRetracted);
    if (withdrawn.length && withdrawn.length < records.length) {
      s += " " + withdrawn.map(publisherLabel).join(" and ") +
        (withdrawn.length === 1 ? " retracted its registration" : " retracted their registrations") +
        "; that changes only " + (withdrawn.length === 1 ? "its own record" : "their own records") +
        ", not what the other publishers registered.";
    }
    return s;
  }

  function renderVerdict(data, matches) {
    var verdict = typeof data.verdict === "string" ? data.verdict : "unknown";
    var origin = matches.length ? matches[0] : null;
    // The match the verdict was decided on (the server puts it first): its likely change and edit summary.
    var primary = Array.isArray(data.matches) && data.matches.length ? data.matches[0] : origin;
    var records = publishersOf(matches);
    var line = els.verdict;
    line.textContent = "";

    var lead = VERDICT_LEAD[verdict] || ("Result: " + verdict);
    if (verdict === "retracted" && records.length > 1) lead = "Retracted by every publisher that registered it";
    if (verdict === "unknown" || !origin) {
      line.appendChild(document.createTextNode(lead + "."));
    } else if (records.length > 1) {
      line.appendChild(document.createTextNode(lead + ": registered by "));
      appendPublisherList(line, records);
      line.appendChild(document.createTextNode("."));
    } else {
      line.appendChild(document.createTextNode(lead + ": "));
      appendOrigin(line, origin);
      line.appendChild(document.createTextNode("."));
    }

    if (origin && verdict !== "unknown" && records.length === 1 && isNonEmptyString(origin.credit)) {
      els.verdictCredit.textContent = "Credit: " + origin.credit;
      els.verdictCredit.hidden = false;
    }

    var note = verdictNote(verdict, verdict === "retracted" ? origin : primary, data, records.length);
    if (verdict !== "unknown" && records.length > 1) {
      note = (note ? note + " " : "") + severalPublishersNote(records);
    }
    if (note) {
      els.verdictNote.textContent = note;
      els.verdictNote.hidden = false;
    }
  }

  function freshnessText(data) {
    var indexed = data.indexed_block;
    var head = data.head_block;
    if (!isNumber(indexed)) return "Index freshness unknown.";
    if (!isNumber(head) || indexed >= head) {
      var top = isNumber(head) ? Math.max(head, indexed) : indexed;
      return "Index up to date: block " + indexed + " of " + top + ".";
    }
    var behind = head - indexed;
    var s = "Index is " + behind + (behind === 1 ? " block" : " blocks") +
      " behind the chain head (block " + indexed + " of " + head + ")";
    var when = [];
    if (data.index_updated_at) when.push(formatDateTime(data.index_updated_at));
    var ago = formatAgo(data.seconds_behind);
    if (ago) when.push(data.index_updated_at ? "(" + ago + ")" : ago);
    if (when.length) s += ", last updated " + when.join(" ");
    return s + ".";
  }

  // ---------------------------------------------------------------- matches

  function addFact(dl, term, value) {
    if (value === null || value === undefined || value === "") return;
    var dt = el("dt", null, term);
    var dd = el("dd");
    if (typeof value === "string" || typeof value === "number") {
      dd.textContent = String(value);
    } else if (Array.isArray(value)) {
      value.forEach(function (v) { dd.appendChild(v); });
    } else {
      dd.appendChild(value);
    }
    dl.appendChild(dt);
    dl.appendChild(dd);
  }

  function matchHowText(m) {
    var kind = isNonEmptyString(m.match) ? (MATCH_KIND[m.match] || m.match) : null;
    var extra = [];
    if (isNumber(m.distance)) extra.push("distance " + m.distance + " of 256 bits");
    if (isNumber(m.quality)) extra.push("quality " + m.quality);
    if (isNonEmptyString(m.transform)) extra.push("likely change: " + m.transform);
    if (!kind && !extra.length) return null;
    return (kind || "match") + (extra.length ? " (" + extra.join(", ") + ")" : "");
  }

  /** "Daily Example (example.org): “caption”, 28 Nov 2026" for a related record, and its uid. */
  function linkNodes(link) {
    var nodes = [];
    var words = link.publisher ? publisherLabel(link) : "A record not yet on chain";
    if (isNonEmptyString(link.caption)) words += ": “" + link.caption + "”";
    if (link.registered_at) words += ", " + formatDate(link.registered_at);
    if (link.retracted === true) words += " (retracted)";
    nodes.push(el("span", "link-text", words + " "));
    if (isNonEmptyString(link.uid)) {
      nodes.push(hexCode(link.uid, 12));
      nodes.push(copyButton(link.uid, "record ID"));
    }
    return nodes;
  }

  function isLink(v) { return v && typeof v === "object" && isNonEmptyString(v.uid); }

  function renderMatch(m, index, total) {
    var li = el("li", "match");
    li.setAttribute("data-uid", isNonEmptyString(m.uid) ? m.uid : "");

    var head = el("div", "match-head");
    var first = typeof m.earliest === "boolean" ? m.earliest : index === 0;
    if (total > 1) {
      // The earliest registration is a time, not an owner: never labelled "origin" or "owner".
      head.appendChild(el("span", "badge" + (first ? " badge-earliest" : ""),
        first ? "Earliest registration" : "Registered later"));
    }
    if (isRetracted(m)) head.appendChild(el("span", "badge badge-retracted", "Retracted"));
    var who = el("p", "match-publisher");
    who.appendChild(el("strong", null, publisherLabel(m)));
    head.appendChild(who);
    li.appendChild(head);

    if (isNonEmptyString(m.caption)) {
      li.appendChild(el("blockquote", "match-caption", m.caption));
    } else {
      li.appendChild(el("p", "match-caption match-caption-empty", "No caption was registered."));
    }
    if (isNonEmptyString(m.credit)) li.appendChild(el("p", "match-credit", "Credit: " + m.credit));

    var r = retractionOf(m);
    if (r.at || isNonEmptyString(r.reason) || m.retracted === true) {
      var rt = total > 1 ? "Retracted by " + publisherLabel(m) + " (this record only)" : "Retracted by its publisher";
      if (r.at) rt += " on " + formatDate(r.at);
      rt += ".";
      if (isNonEmptyString(r.reason)) rt += " Reason given: “" + r.reason + "”.";
      li.appendChild(el("p", "match-retracted", rt));
    }
    if (isLink(m.successor)) {
      var next = el("p", "match-successor");
      next.appendChild(el("strong", null, "Corrected version: "));
      linkNodes(m.successor).forEach(function (n) { next.appendChild(n); });
      li.appendChild(next);
    }

    var dl = el("dl", "facts");
    var url = safeHttpUrl(m.published_url);
    if (url) {
      var a = el("a", null, m.published_url);
      a.href = url;
      a.rel = "noopener noreferrer nofollow";
      addFact(dl, "Published at", a);
    }
    if (m.taken_at) addFact(dl, "Taken", formatDateTime(m.taken_at));
    if (m.registered_at) addFact(dl, "Registered", formatDateTime(m.registered_at));
    addFact(dl, "Matched as", matchHowText(m));
    if (isLink(m.derived_from)) addFact(dl, "Derived from", linkNodes(m.derived_from));
    if (Array.isArray(m.derived_into)) {
      m.derived_into.filter(isLink).forEach(function (link) { addFact(dl, "Derived into", linkNodes(link)); });
    }
    if (isNonEmptyString(m.note)) addFact(dl, "Note", m.note);
    var p = publisherOf(m);
    if (isNonEmptyString(p.address)) {
      addFact(dl, "Publisher address", [hexCode(p.address, 12), copyButton(p.address, "publisher address")]);
    }
    if (isNonEmptyString(m.uid)) {
      addFact(dl, "Record ID", [hexCode(m.uid, 12), copyButton(m.uid, "record ID")]);
    }
    if (isNonEmptyString(m.contract)) {
      addFact(dl, "Contract", [hexCode(m.contract, 12), copyButton(m.contract, "contract address")]);
    }
    li.appendChild(dl);

    if (isNonEmptyString(m.tx_hash) || isNumber(m.block_number)) {
      var tx = el("p", "match-tx");
      var txText = el("span", "tx-text");
      txText.appendChild(document.createTextNode("Transaction "));
      if (isNonEmptyString(m.tx_hash)) {
        txText.appendChild(hexCode(m.tx_hash, 10));
      } else {
        txText.appendChild(document.createTextNode("(unknown)"));
      }
      if (isNumber(m.block_number)) txText.appendChild(document.createTextNode(" in block " + m.block_number));
      if (m.chain_id !== undefined && m.chain_id !== null) {
        txText.appendChild(document.createTextNode(" on chain " + m.chain_id));
      }
      tx.appendChild(txText);
      if (isNonEmptyString(m.tx_hash)) {
        tx.setAttribute("data-tx-hash", m.tx_hash);
        tx.appendChild(copyButton(m.tx_hash, "transaction hash"));
      }
      li.appendChild(tx);
    }
    return li;
  }

  function renderMatches(matches) {
    els.matches.textContent = "";
    if (!matches.length) return;
    els.matchesHeading.textContent = matches.length === 1
      ? "Registered record"
      : "Registered records (" + matches.length + ", earliest first)";
    matches.forEach(function (m, i) {
      els.matches.appendChild(renderMatch(m, i, matches.length));
    });
    els.matchesSection.hidden = false;
  }

  function renderQuery(q) {
    els.query.textContent = "";
    if (!q || typeof q !== "object") return;
    if (isNumber(q.width) && isNumber(q.height)) addFact(els.query, "Size", q.width + " × " + q.height + " pixels");
    if (isNonEmptyString(q.sha256)) addFact(els.query, "File SHA-256", [hexCode(q.sha256, 18), copyButton(q.sha256, "file SHA-256")]);
    if (isNonEmptyString(q.pixel_sha256)) addFact(els.query, "Pixel SHA-256", [hexCode(q.pixel_sha256, 18), copyButton(q.pixel_sha256, "pixel SHA-256")]);
    if (isNonEmptyString(q.pdq)) addFact(els.query, "PDQ hash", [hexCode(q.pdq, 18), copyButton(q.pdq, "PDQ hash")]);
    if (isNumber(q.pdq_quality)) {
      addFact(els.query, "PDQ quality", q.pdq_quality + (q.pdq_quality < 50 ? " (low: similarity matching is unreliable for this image)" : ""));
    }
    if (els.query.childNodes.length) els.queryDetails.hidden = false;
  }

  // ---------------------------------------------------------------- Content Credentials (C2PA)

  var CREDENTIAL_STATE = {
    trusted: "Valid, and signed by a certificate this service trusts.",
    valid: "Valid: the signature and the image's binding hold. The signer's certificate is not on this service's " +
      "trust list, so who the signer is has not been vouched for.",
    invalid: "Invalid: a check failed, so what the credentials say cannot be relied on."
  };

  function credentialSigner(cc) {
    var s = (cc && cc.signer) || {};
    var names = [s.common_name, s.issuer].filter(isNonEmptyString);
    if (names.length === 2 && names[0] !== names[1]) return names[0] + " (" + names[1] + ")";
    return names.length ? names[0] : "an unnamed signer";
  }

  function actionsText(cc) {
    if (!Array.isArray(cc.actions) || !cc.actions.length) return null;
    return cc.actions.map(function (a) {
      var words = isNonEmptyString(a.action) ? a.action.replace(/^c2pa\./, "") : "unnamed";
      if (isNonEmptyString(a.software_agent)) words += " (" + a.software_agent + ")";
      return words;
    }).join(", ");
  }

  function ingredientsText(cc) {
    if (!Array.isArray(cc.ingredients) || !cc.ingredients.length) return null;
    return cc.ingredients.map(function (i) {
      var words = isNonEmptyString(i.title) ? i.title : "untitled";
      if (isNonEmptyString(i.relationship)) words += " (" + i.relationship + ")";
      return words;
    }).join(", ");
  }

  function credentialFacts(dl, cc) {
    addFact(dl, "Signed by", credentialSigner(cc));
    if (isNonEmptyString(cc.signed_at)) addFact(dl, "Time stamp", formatDateTime(cc.signed_at));
    if (isNonEmptyString(cc.claim_generator)) addFact(dl, "Made with", cc.claim_generator);
    addFact(dl, "Actions", actionsText(cc));
    addFact(dl, "Ingredients", ingredientsText(cc));
    var reg = cc.ledger_registration;
    if (reg && typeof reg === "object" && isNonEmptyString(reg.publisher)) {
      addFact(dl, "Ledger registration", "publisher " + reg.publisher + " on chain " + reg.chain_id +
        ", contract " + reg.contract);
    }
  }

  function renderCredentials(data) {
    var cc = data.content_credentials;
    els.credentialsFacts.textContent = "";
    els.credentialsFailures.textContent = "";
    els.credentialsFailures.hidden = true;
    var removed = data.credentials_removed;
    if (removed && typeof removed === "object" && isNonEmptyString(removed.message)) {
      els.credentialsRemoved.textContent = removed.message;
      els.credentialsRemoved.hidden = false;
    }
    if (!cc || typeof cc !== "object") {
      if (removed && removed.original && typeof removed.original === "object") {
        els.credentialsHeading.textContent = "Content Credentials (C2PA) the original carried";
        els.credentialsState.textContent = "Your copy carries none. " + (CREDENTIAL_STATE[removed.original.state] || "");
        credentialFacts(els.credentialsFacts, removed.original);
        els.credentials.setAttribute("data-state", "removed");
        els.credentials.hidden = false;
      }
      return;
    }
    els.credentialsHeading.textContent = "Content Credentials (C2PA) in your image";
    els.credentials.setAttribute("data-state", cc.state || "invalid");
    els.credentialsState.textContent = CREDENTIAL_STATE[cc.state] || CREDENTIAL_STATE.invalid;
    credentialFacts(els.credentialsFacts, cc);
    var failures = Array.isArray(cc.failures) ? cc.failures : [];
    failures.forEach(function (f) {
      if (!f || !isNonEmptyString(f.code)) return;
      var li = el("li", "credentials-failure");
      li.appendChild(el("code", null, f.code));
      if (isNonEmptyString(f.explanation)) li.appendChild(document.createTextNode(": " + f.explanation));
      els.credentialsFailures.appendChild(li);
    });
    els.credentialsFailures.hidden = !els.credentialsFailures.childNodes.length;
    els.credentials.hidden = false;
  }

  // ---------------------------------------------------------------- changes (edited copies)

  function clamp01(v) { return Math.max(0, Math.min(1, v)); }

  /** The reader's own image with the server's heatmap and boxes laid over it (edited answers only). */
  function renderChanges(data) {
    var changes = data && typeof data.changes === "object" ? data.changes : null;
    if (data.relation !== "edited" || !changes || !previewUrl || !isNonEmptyString(data.verification_id)) return;
    els.changesImage.src = previewUrl;
    els.changesHeatmap.src = VERIFY_URL + "/" + encodeURIComponent(data.verification_id) + "/diff.png";
    els.changesHeatmap.hidden = false;
    els.changesBoxes.textContent = "";
    var regions = Array.isArray(changes.regions) ? changes.regions : [];
    regions.forEach(function (r) {
      if (!r || !isNumber(r.x) || !isNumber(r.y) || !isNumber(r.width) || !isNumber(r.height)) return;
      var box = el("div", "changes-box");
      box.style.left = (clamp01(r.x) * 100) + "%";
      box.style.top = (clamp01(r.y) * 100) + "%";
      box.style.width = (clamp01(r.width) * 100) + "%";
      box.style.height = (clamp01(r.height) * 100) + "%";
      els.changesBoxes.appendChild(box);
    });
    els.changesBoxes.hidden = false;
    var n = regions.length;
    els.changesText.textContent = n === 1
      ? "The area that differs from the registered image is outlined and shaded in red."
      : "The " + n + " areas that differ from the registered image are outlined and shaded in red.";
    els.changesToggle.textContent = "Hide highlights";
    els.changesToggle.setAttribute("aria-pressed", "true");
    els.changes.hidden = false;
  }

  function toggleChanges() {
    var showing = !els.changesHeatmap.hidden;
    els.changesHeatmap.hidden = showing;
    els.changesBoxes.hidden = showing;
    els.changesToggle.textContent = showing ? "Show highlights" : "Hide highlights";
    els.changesToggle.setAttribute("aria-pressed", showing ? "false" : "true");
  }

  // ---------------------------------------------------------------- states

  function clearResult() {
    els.verdict.textContent = "";
    els.verdictCredit.textContent = "";
    els.verdictCredit.hidden = true;
    els.verdictNote.textContent = "";
    els.verdictNote.hidden = true;
    els.freshness.textContent = "";
    els.freshness.hidden = true;
    els.devChain.textContent = "";
    els.devChain.hidden = true;
    els.error.textContent = "";
    els.error.hidden = true;
    els.matches.textContent = "";
    els.matchesSection.hidden = true;
    els.query.textContent = "";
    els.queryDetails.hidden = true;
    els.changes.hidden = true;
    els.changesBoxes.textContent = "";
    els.changesHeatmap.removeAttribute("src");
    els.queryDetails.open = false;
    els.credentials.hidden = true;
    els.credentials.removeAttribute("data-state");
    els.credentialsRemoved.textContent = "";
    els.credentialsRemoved.hidden = true;
    els.verdictBox.hidden = false;
    els.result.removeAttribute("data-verdict");
  }

  function setLoading(name) {
    clearResult();
    els.result.hidden = true;
    els.result.setAttribute("data-state", "loading");
    els.result.setAttribute("aria-busy", "true");
    els.status.textContent = "Checking " + (name ? "“" + name + "”" : "the image") + "…";
    els.drop.setAttribute("data-state", "busy");
  }

  function finish() {
    els.result.hidden = false;
    els.result.removeAttribute("aria-busy");
    els.result.setAttribute("data-state", "done");
    els.drop.setAttribute("data-state", "ready");
    els.status.textContent = "";
  }

  function renderResult(data) {
    clearResult();
    var verdict = typeof data.verdict === "string" ? data.verdict : "unknown";
    var matches = sortMatches(Array.isArray(data.matches) ? data.matches.filter(function (m) {
      return m && typeof m === "object";
    }) : []);

    els.result.setAttribute("data-verdict", verdict);
    els.verdictBox.setAttribute("data-verdict", verdict);
    renderVerdict(data, matches);
    els.freshness.textContent = freshnessText(data);
    els.freshness.hidden = false;
    if (data.development_chain === true) {
      // Anyone on the machine can send as any account on such a chain: a named publisher proves nothing there.
      var warning = typeof data.chain_warning === "string" ? data.chain_warning
        : "development chain: anyone on this machine can write to it";
      els.devChain.textContent = warning.charAt(0).toUpperCase() + warning.slice(1) +
        ". Who registered an image here is not proven.";
      els.devChain.hidden = false;
    }
    renderMatches(matches);
    renderChanges(data);
    renderCredentials(data);
    renderQuery(data.query);
    finish();
  }

  function renderError(message) {
    clearResult();
    els.verdictBox.hidden = true;
    els.error.textContent = message;
    els.error.hidden = false;
    finish();
  }

  // ---------------------------------------------------------------- network

  function errorMessageFrom(res, body) {
    if (body && body.error && isNonEmptyString(body.error.message)) return body.error.message;
    if (body && isNonEmptyString(body.detail)) return body.detail;
    if (res.status === 413) return "The image is too large to check.";
    return "The server could not check this image (HTTP " + res.status + ").";
  }

  function verify(file) {
    var seq = ++requestSeq;
    if (currentController) currentController.abort();
    var controller = typeof AbortController !== "undefined" ? new AbortController() : null;
    currentController = controller;

    var form = new FormData();
    form.append("file", file, file.name || "image");

    setLoading(file.name);
    fetch(VERIFY_URL, {
      method: "POST",
      body: form,
      headers: { "Accept": "application/json" },
      signal: controller ? controller.signal : undefined
    }).then(function (res) {
      return res.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        return { res: res, body: body };
      });
    }).then(function (r) {
      if (seq !== requestSeq) return;
      if (!r.res.ok) {
        renderError(errorMessageFrom(r.res, r.body));
      } else if (!r.body || typeof r.body !== "object") {
        renderError("The server sent an answer this page could not read.");
      } else {
        renderResult(r.body);
      }
    }).catch(function (err) {
      if (seq !== requestSeq) return;
      if (err && err.name === "AbortError") return;
      renderError("Could not reach the server. Check your connection and try again.");
    });
  }

  function loadChainInfo() {
    fetch(CHAIN_URL, { headers: { "Accept": "application/json" } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (info) {
        if (!info || typeof info !== "object" || !isNonEmptyString(info.contract)) return;
        var p = els.chain;
        p.textContent = "";
        p.appendChild(document.createTextNode("Contract "));
        var code = el("code", "hex hex-full", info.contract);
        code.title = info.contract;
        p.appendChild(code);
        if (info.chain_id !== undefined && info.chain_id !== null) {
          p.appendChild(document.createTextNode(" on chain " + info.chain_id));
        }
        if (isNumber(info.deploy_block)) {
          p.appendChild(document.createTextNode(", deployed in block " + info.deploy_block));
        }
        p.appendChild(document.createTextNode(" "));
        p.appendChild(copyButton(info.contract, "contract address"));
        p.hidden = false;
      })
      .catch(function () { /* footer is optional */ });
  }

  // ---------------------------------------------------------------- input

  function showPreview(file) {
    if (previewUrl) {
      URL.revokeObjectURL(previewUrl);
      previewUrl = null;
    }
    els.previewName.textContent = file.name || "Pasted image";
    if (file.type && file.type.indexOf("image/") !== 0) {
      els.preview.hidden = true;
    } else {
      previewUrl = URL.createObjectURL(file);
      els.preview.hidden = false;
      els.preview.src = previewUrl;
    }
    els.previewFigure.hidden = false;
    els.drop.classList.add("has-preview");
    if (els.chooseLabel) els.chooseLabel.textContent = "Choose another image";
  }

  function handleFile(file) {
    if (!file) return;
    showPreview(file);
    verify(file);
  }

  function firstImageFile(list) {
    if (!list) return null;
    for (var i = 0; i < list.length; i++) {
      var f = list[i];
      if (f && (!f.type || f.type.indexOf("image/") === 0)) return f;
    }
    return list.length ? list[0] : null;
  }

  function bind() {
    els.file.addEventListener("change", function () {
      var f = els.file.files && els.file.files[0];
      if (f) handleFile(f);
    });

    var depth = 0;
    els.drop.addEventListener("dragenter", function (e) {
      e.preventDefault();
      depth++;
      els.drop.classList.add("dragging");
    });
    els.drop.addEventListener("dragover", function (e) {
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
    });
    els.drop.addEventListener("dragleave", function () {
      depth = Math.max(0, depth - 1);
      if (depth === 0) els.drop.classList.remove("dragging");
    });
    els.drop.addEventListener("drop", function (e) {
      e.preventDefault();
      depth = 0;
      els.drop.classList.remove("dragging");
      var f = e.dataTransfer && firstImageFile(e.dataTransfer.files);
      if (f) {
        handleFile(f);
      } else {
        renderError("Drop an image file here (for example a JPEG or PNG saved on your device).");
      }
    });

    // Clicking anywhere on the drop zone opens the file chooser.
    els.drop.addEventListener("click", function (e) {
      if (e.target.closest("label, input, button, a")) return;
      els.file.click();
    });

    // Dropping a file elsewhere on the page should not navigate away from it.
    window.addEventListener("dragover", function (e) { e.preventDefault(); });
    window.addEventListener("drop", function (e) { e.preventDefault(); });

    document.addEventListener("paste", function (e) {
      var cd = e.clipboardData;
      if (!cd) return;
      var file = null;
      if (cd.files && cd.files.length) file = firstImageFile(cd.files);
      if (!file && cd.items) {
        for (var i = 0; i < cd.items.length; i++) {
          var it = cd.items[i];
          if (it.kind === "file" && it.type.indexOf("image/") === 0) {
            file = it.getAsFile();
            if (file) break;
          }
        }
      }
      if (file) {
        e.preventDefault();
        handleFile(file);
      }
    });
  }

  function init() {
    els = {
      file: $("file"),
      drop: $("drop"),
      preview: $("preview"),
      previewFigure: $("preview-figure"),
      previewName: $("preview-name"),
      status: $("status"),
      result: $("result"),
      verdictBox: $("verdict-box"),
      verdict: $("verdict"),
      verdictCredit: $("verdict-credit"),
      verdictNote: $("verdict-note"),
      freshness: $("freshness"),
      devChain: $("dev-chain"),
      error: $("error"),
      matchesSection: $("matches-section"),
      matchesHeading: $("matches-heading"),
      matches: $("matches"),
      queryDetails: $("query-details"),
      query: $("query"),
      chain: $("chain"),
      chooseLabel: $("choose-label"),
      changes: $("changes"),
      changesImage: $("changes-image"),
      changesHeatmap: $("changes-heatmap"),
      changesBoxes: $("changes-boxes"),
      changesText: $("changes-text"),
      changesToggle: $("changes-toggle"),
      credentials: $("credentials"),
      credentialsHeading: $("credentials-heading"),
      credentialsState: $("credentials-state"),
      credentialsFacts: $("credentials-facts"),
      credentialsFailures: $("credentials-failures"),
      credentialsRemoved: $("credentials-removed")
    };
    els.changesToggle.addEventListener("click", toggleChanges);
    bind();
    loadChainInfo();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
