/* "Find similar": paste an alert, an error message or symptoms; get ranked runbooks and past incidents.
 *
 * Runs entirely in the page on the static index written by incidentkb.similar_browser.browser_index_files:
 * no server, no request outside the site, works offline and from a copy on disk (the index files are
 * scripts, loaded with <script> tags, because fetch() is refused on file:// pages).
 *
 * The tokeniser and the scoring mirror incidentkb/text.py and SimilarityIndex.query line for line;
 * tests/test_similar.py runs the same texts through both. Change one, change the other.
 *
 * Page contract: an element #kb-find-similar, optionally holding a <textarea>. Attributes:
 *   data-index  path from the page to the index folder (default: the folder of this script)
 *   data-root   path from the page to the site root, prefixed to record URLs (default: two folders up from it)
 * Every value from the index is inserted with textContent, never as HTML.
 */
(function () {
  "use strict";

  // ------------------------------------------------------------------ tokeniser (text.py)

  var COMPOUND = /[\p{L}\p{N}]+(?:[-_.:\/@][\p{L}\p{N}]+)*/gu;
  var PART = /[\p{L}\p{N}]+/gu;
  var CAMEL = /[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+/g;
  var ASCII = /^[\x00-\x7f]*$/;
  var DIGITS = /^\p{Nd}+$/u;

  function codePoints(s) { return Array.from(s); }
  function length(s) { return codePoints(s).length; }
  function findAll(re, s) { return s.match(re) || []; }

  function makeTokeniser(stopWords, maxJoined) {
    var stop = new Set(stopWords);
    var memo = new Map();

    function stem(word) {
      var n = length(word);
      if (n > 4 && word.endsWith("ies")) return word.slice(0, -3) + "y";
      if (n > 3 && word.endsWith("s") && !(word.endsWith("ss") || word.endsWith("us") || word.endsWith("is"))) {
        return word.slice(0, -1);
      }
      return word;
    }

    function piecesOf(compound) {
      var pieces = [];
      findAll(PART, compound).forEach(function (part) {
        if (ASCII.test(part)) pieces.push.apply(pieces, findAll(CAMEL, part));
        else pieces.push(part);
      });
      return pieces.map(function (p) { return p.toLowerCase(); });
    }

    function analyse(compound) {
      var hit = memo.get(compound);
      if (hit) return hit;
      var pieces = piecesOf(compound);
      var words = pieces.filter(function (p) { return length(p) >= 2 && !stop.has(p); }).map(stem);
      var joined = null;
      if (pieces.length > 1) {
        var whole = pieces.join("");
        if (length(whole) <= maxJoined) joined = stem(whole);
      }
      hit = { words: words, joined: joined };
      memo.set(compound, hit);
      return hit;
    }

    function compounds(text) { return findAll(COMPOUND, text.normalize("NFKC")); }

    function wordsAndJoined(text) {
      var words = [], joined = [];
      compounds(text).forEach(function (c) {
        var a = analyse(c);
        words.push.apply(words, a.words);
        if (a.joined !== null) joined.push(a.joined);
      });
      return { words: words, joined: joined };
    }

    function terms(text, bigrams) {
      var wj = wordsAndJoined(text);
      var out = wj.words.concat(wj.joined);
      if (bigrams !== false) {
        for (var i = 0; i + 1 < wj.words.length; i++) out.push(wj.words[i] + " " + wj.words[i + 1]);
      }
      return out;
    }

    function surfaces(text, into) {
      compounds(text).forEach(function (compound) {
        var pieces = piecesOf(compound);
        pieces.forEach(function (p) {
          if (length(p) >= 2 && !stop.has(p) && !into.has(stem(p))) into.set(stem(p), p);
        });
        var whole = pieces.join("");
        if (pieces.length > 1 && length(whole) <= maxJoined && !into.has(stem(whole))) {
          into.set(stem(whole), compound.toLowerCase());
        }
      });
      return into;
    }

    return { stem: stem, analyse: analyse, compounds: compounds, wordsAndJoined: wordsAndJoined, terms: terms,
             surfaces: surfaces };
  }

  function display(term, surface) {
    if (surface.has(term)) return surface.get(term);
    return term.split(" ").map(function (w) { return surface.has(w) ? surface.get(w) : w; }).join(" ");
  }

  // ------------------------------------------------------------------ helpers shared with similar.py

  function fnv1a(text) {
    var bytes = new TextEncoder().encode(text);
    var h = 0x811c9dc5;
    for (var i = 0; i < bytes.length; i++) {
      h = Math.imul((h ^ bytes[i]) >>> 0, 0x01000193) >>> 0;
    }
    return h >>> 0;
  }

  function round2(value) { return Math.floor(Math.min(Math.max(value, 0), 1) * 100 + 0.5) / 100; }

  // rapidfuzz's Indel.normalized_similarity: 1 - (len1 + len2 - 2 * LCS) / (len1 + len2), on code points.
  function indelSimilarity(a, b) {
    var x = codePoints(a), y = codePoints(b);
    var total = x.length + y.length;
    if (total === 0) return 1;
    var prev = new Array(y.length + 1).fill(0);
    for (var i = 1; i <= x.length; i++) {
      var cur = [0];
      for (var j = 1; j <= y.length; j++) {
        cur[j] = x[i - 1] === y[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
      }
      prev = cur;
    }
    return 1 - (total - 2 * prev[y.length]) / total;
  }

  function compare(a, b) { return a < b ? -1 : a > b ? 1 : 0; }
  function byCount(map) { return Array.from(map.keys()); }

  // ------------------------------------------------------------------ loading the index

  var loaded = new Map();  // "t:7" -> payload
  var waiting = new Map(); // "t:7" -> [resolve, ...]

  window.kbSimilarData = function (kind, number, payload) {
    var key = kind + ":" + number;
    loaded.set(key, payload);
    (waiting.get(key) || []).forEach(function (resolve) { resolve(payload); });
    waiting.delete(key);
  };

  function makeLoader(base) {
    var requested = new Map();
    function file(kind, number) {
      var name = kind === "manifest" ? "manifest.js" : kind + "-" + ("000" + number.toString(16)).slice(-4) + ".js";
      var key = kind + ":" + number;
      if (loaded.has(key)) return Promise.resolve(loaded.get(key));
      if (requested.has(key)) return requested.get(key);
      var promise = new Promise(function (resolve, reject) {
        if (!waiting.has(key)) waiting.set(key, []);
        waiting.get(key).push(resolve);
        var script = document.createElement("script");
        script.src = base + name;
        script.async = true;
        script.onerror = function () { requested.delete(key); reject(new Error("could not load " + name)); };
        document.head.appendChild(script);
      });
      requested.set(key, promise);
      return promise;
    }
    return file;
  }

  // ------------------------------------------------------------------ the query (SimilarityIndex.query)

  function makeIndex(manifest, file) {
    var tok = makeTokeniser(manifest.stop_words, manifest.max_joined);

    function termEntries(termList) {
      var shards = new Map();
      termList.forEach(function (t) { shards.set(fnv1a(t) % manifest.term_shards, true); });
      return Promise.all(Array.from(shards.keys()).map(function (n) { return file("t", n); })).then(function () {
        var out = new Map();
        termList.forEach(function (t) {
          var shard = loaded.get("t:" + (fnv1a(t) % manifest.term_shards));
          if (shard && Object.prototype.hasOwnProperty.call(shard, t)) out.set(t, shard[t]);
        });
        return out;
      });
    }

    function prefix(word) { return codePoints(word).slice(0, 2).join(""); }

    function corrections(words, known) {
      // Words that may be typos: unknown, long enough, not numbers. Their buckets: same first two letters.
      var wanted = words.filter(function (w) {
        return !known.has(w) && length(w) >= manifest.fuzzy_min_length && !DIGITS.test(w);
      });
      var shards = new Map();
      wanted.forEach(function (w) { shards.set(fnv1a(prefix(w)) % manifest.fuzzy_shards, true); });
      return Promise.all(Array.from(shards.keys()).map(function (n) { return file("f", n); })).then(function () {
        var out = new Map();
        wanted.forEach(function (w) {
          var bucket = (loaded.get("f:" + (fnv1a(prefix(w)) % manifest.fuzzy_shards)) || {})[prefix(w)] || [];
          var best = null, bestScore = -1;
          bucket.forEach(function (candidate) {
            var score = indelSimilarity(w, candidate);
            if (score >= manifest.fuzzy_cutoff && score > bestScore) { best = candidate; bestScore = score; }
          });
          if (best !== null) out.set(w, best);
        });
        return out;
      });
    }

    function records(positions) {
      var chunks = new Map();
      positions.forEach(function (p) { chunks.set(Math.floor(p / manifest.record_chunk), true); });
      return Promise.all(Array.from(chunks.keys()).map(function (n) { return file("r", n); })).then(function () {
        var out = new Map();
        positions.forEach(function (p) {
          var chunk = loaded.get("r:" + Math.floor(p / manifest.record_chunk));
          var row = chunk[p % manifest.record_chunk];
          out.set(p, { id: row[0], kind: row[1], title: row[2], url: row[3], services: row[4], tags: row[5],
                       alerts: row[6], titleWords: row[7] });
        });
        return out;
      });
    }

    function named(value, bag) {
      var wj = tok.wordsAndJoined(value);
      if (wj.joined.length && bag.has(wj.joined[0])) return true;
      if (wj.words.length === 1) return bag.has(wj.words[0]);
      if (!wj.words.length) return false;
      for (var i = 0; i + 1 < wj.words.length; i++) {
        if (!bag.has(wj.words[i] + " " + wj.words[i + 1])) return false;
      }
      return true;
    }

    // read_query: the pasted text's terms, typos corrected. Resolves to {counts, surface}.
    function read(text) {
      var raw = [];
      tok.compounds(text).forEach(function (c) {
        var a = tok.analyse(c);
        raw.push({ words: a.words, joined: a.joined });
      });
      var firstPass = [], rawWords = [];
      raw.forEach(function (r) {
        firstPass.push.apply(firstPass, r.words);
        rawWords.push.apply(rawWords, r.words);
        if (r.joined !== null) firstPass.push(r.joined);
      });
      // The bigrams' shards come in the same round: without typos they are the bigrams of the query.
      var prefetch = firstPass.slice();
      for (var i = 0; i + 1 < rawWords.length; i++) prefetch.push(rawWords[i] + " " + rawWords[i + 1]);
      return termEntries(Array.from(new Set(prefetch)).slice(0, 4 * manifest.max_query_terms)).then(function () {
        return termEntries(Array.from(new Set(firstPass)));
      }).then(function (known) {
        return corrections(Array.from(new Set(firstPass)), known);
      }).then(function (fixes) {
        var corrected = new Map();
        function fix(w) {
          if (!corrected.has(w)) corrected.set(w, fixes.has(w) ? fixes.get(w) : w);
          return corrected.get(w);
        }
        var words = [], joined = [];
        raw.forEach(function (r) {
          r.words.forEach(function (w) { words.push(fix(w)); });
          if (r.joined !== null) joined.push(fix(r.joined));
        });
        var all = words.concat(joined);
        for (var i = 0; i + 1 < words.length; i++) all.push(words[i] + " " + words[i + 1]);
        var counts = new Map();
        all.forEach(function (t) { counts.set(t, (counts.get(t) || 0) + 1); });
        var surface = new Map();
        tok.surfaces(text, new Map()).forEach(function (written, term) {
          if (!corrected.has(term) || corrected.get(term) === term) surface.set(term, written);
        });
        return { counts: counts, surface: surface };
      });
    }

    function query(text, tops) {
      // tops: {incident: 10, runbook: 5}; resolves to {incident: [Match], runbook: [Match]}, as query(kind=...).
      return read(text).then(function (q) {
        var capped = byCount(q.counts).slice(0, manifest.max_query_terms);
        return termEntries(capped).then(function (entries) {
          var weights = new Map();
          capped.forEach(function (t) {
            // Known terms without postings (in no record's strongest terms) cannot score: Python leaves them out too.
            if (entries.has(t) && entries.get(t).length > 1) {
              weights.set(t, (1 + Math.log(q.counts.get(t))) * entries.get(t)[0]);
            }
          });
          var best = 0;
          weights.forEach(function (w) { best += w; });
          best *= manifest.k1 + 1;
          var result = { incident: [], runbook: [] };
          if (!best) return result;
          var scores = new Map(), holders = new Map();
          weights.forEach(function (weight, t) {
            var factor = 1 + Math.log(q.counts.get(t));
            // held: position -> what the term added to that record's score (for the reasons).
            var entry = entries.get(t), held = new Map();
            for (var i = 1; i < entry.length; i += 2) {
              held.set(entry[i], factor * entry[i + 1]);
              scores.set(entry[i], (scores.get(entry[i]) || 0) + factor * entry[i + 1]);
            }
            holders.set(t, held);
          });
          var ranked = Array.from(scores.entries()).sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; });
          // Kinds are only known from the record files: read the best ranked until each kind has enough.
          return pick(ranked, tops).then(function (chosen) {
            Object.keys(tops).forEach(function (kind) {
              var found = chosen[kind].map(function (c) {
                return { score: round2(score(c.record, c.value / best, q.counts)), record: c.record, position: c.position };
              });
              found.sort(function (a, b) { return b.score - a.score || compare(a.record.id, b.record.id); });
              result[kind] = found.slice(0, tops[kind]).map(function (f) {
                return match(f.record, f.position, f.score, q, weights, holders);
              });
            });
            return result;
          });
        });
      });
    }

    function pick(ranked, tops) {
      // Records are numbered incidents first, then runbooks: the kind is known before any record file is read.
      var chosen = { incident: [], runbook: [] };
      ranked.forEach(function (r) {
        var kind = r[0] < manifest.incidents ? "incident" : "runbook";
        if (tops[kind] !== undefined && chosen[kind].length < Math.max(manifest.candidates, tops[kind] * 2)) {
          chosen[kind].push({ position: r[0], value: r[1] });
        }
      });
      var all = chosen.incident.concat(chosen.runbook);
      return records(all.map(function (c) { return c.position; })).then(function (recs) {
        all.forEach(function (c) { c.record = recs.get(c.position); });
        return chosen;
      });
    }

    function score(record, text, bag) {
      var namedScore = 0;
      if (record.alerts.some(function (a) { return named(a, bag); })) namedScore = 1;
      else if (record.services.concat(record.tags).some(function (v) { return named(v, bag); })) namedScore = 0.5;
      var cover = 0;
      if (record.titleWords.length) {
        cover = record.titleWords.filter(function (w) { return bag.has(w); }).length / record.titleWords.length;
      }
      return manifest.text_share * Math.sqrt(Math.min(text, 1)) + (1 - manifest.text_share) * Math.max(namedScore, cover);
    }

    function match(record, position, scoreValue, q, weights, holders) {
      var bag = q.counts;
      var alerts = record.alerts.slice().sort(compare).filter(function (a) { return named(a, bag); });
      var services = record.services.slice().sort(compare).filter(function (v) { return named(v, bag); });
      var tags = record.tags.slice().sort(compare).filter(function (v) {
        return record.services.indexOf(v) < 0 && named(v, bag);
      });
      var reasons = alerts.map(function (a) { return "names alert " + a; })
        .concat(services.map(function (v) { return "mentions service " + v; }))
        .concat(tags.map(function (v) { return "mentions tag " + v; }));
      var said = new Set();
      alerts.concat(services, tags).forEach(function (v) { tok.terms(v).forEach(function (t) { said.add(t); }); });
      // The terms that added most to this record's BM25 score, most first (as SimilarityIndex._query_match).
      var matched = Array.from(weights.keys()).filter(function (t) { return holders.get(t).has(position); });
      function added(t) { return holders.get(t).get(position); }
      matched.sort(function (a, b) { return added(b) - added(a) || compare(a, b); });
      // As _term_reasons: skip numbers, fragments, what another reason says, a term with a word already
      // quoted, and a term that holds or is held by one already quoted (after 'crash loop', neither
      // 'loop back', 'crash' nor 'crashloopbackoff').
      var quoted = [], quotedWords = new Set();
      for (var i = 0; i < matched.length && quoted.length < 3; i++) {
        var t = matched[i];
        var words = t.split(" ");
        var joined = words.join("");
        if (said.has(t) || words.some(function (w) { return DIGITS.test(w) || length(w) < 3 || quotedWords.has(w); }) ||
            quoted.some(function (q) { return q.indexOf(joined) >= 0 || joined.indexOf(q) >= 0; })) continue;
        reasons.push("matches '" + display(t, q.surface) + "'");
        quoted.push(joined);
        words.forEach(function (w) { quotedWords.add(w); });
      }
      return { id: record.id, kind: record.kind, title: record.title, url: record.url, score: scoreValue,
               reasons: reasons };
    }

    return { tokeniser: tok, read: read, query: query };
  }

  // ------------------------------------------------------------------ the page

  function scriptFolder() {
    var script = document.currentScript;
    if (!script || !script.src) return "";
    return script.src.replace(/[^\/]*$/, "");
  }

  var HERE = scriptFolder();

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function renderList(container, title, matches, root) {
    var section = element("section", "kb-similar-section");
    section.appendChild(element("h2", null, title));
    if (!matches.length) {
      section.appendChild(element("p", "kb-similar-none", "Nothing similar found."));
    } else {
      var list = element("ol", "kb-similar-results");
      matches.forEach(function (m) {
        var item = element("li", "kb-similar-result");
        var link = element("a", null, m.title);
        link.setAttribute("href", root + m.url);
        item.appendChild(link);
        item.appendChild(document.createTextNode(" "));
        item.appendChild(element("span", "kb-similar-kind", m.kind));
        item.appendChild(document.createTextNode(" "));
        item.appendChild(element("span", "kb-similar-score", m.score.toFixed(2)));
        item.appendChild(document.createTextNode(" "));
        item.appendChild(element("span", "kb-similar-id", m.id));
        if (m.reasons.length) {
          var reasons = element("ul", "kb-similar-reasons");
          m.reasons.forEach(function (r) { reasons.appendChild(element("li", null, r)); });
          item.appendChild(reasons);
        }
        list.appendChild(item);
      });
      section.appendChild(list);
    }
    container.appendChild(section);
  }

  function start(container) {
    var base = container.getAttribute("data-index") || HERE;
    if (base && !/\/$/.test(base)) base += "/";
    var root = container.getAttribute("data-root");
    if (root === null) root = base + "../../";
    if (root && !/\/$/.test(root)) root += "/";
    var textarea = container.querySelector("textarea");
    if (!textarea) {
      textarea = element("textarea");
      textarea.rows = 6;
      textarea.setAttribute("aria-label", "Alert name, error message or symptoms");
      textarea.placeholder = "Paste an alert name, an error message or the symptoms";
      container.appendChild(textarea);
    }
    var button = container.querySelector("button") || container.appendChild(element("button", null, "Find similar"));
    var status = container.appendChild(element("p", "kb-similar-status"));
    status.setAttribute("role", "status");
    var results = container.appendChild(element("div", "kb-similar-output"));
    var file = makeLoader(base);
    var index = null, run = 0;
    // Load the manifest now, not at the first search: one round trip less when it matters.
    var manifest = file("manifest", 0);
    manifest.catch(function () {});

    function search() {
      var text = textarea.value;
      var mine = ++run;
      if (!text.trim()) { results.textContent = ""; status.textContent = ""; return; }
      status.textContent = "Searching…";
      var ready = index ? Promise.resolve(index) : manifest.then(function (m) { return (index = makeIndex(m, file)); });
      ready.then(function (idx) { return idx.query(text, { runbook: 5, incident: 10 }); }).then(function (found) {
        if (mine !== run) return;
        results.textContent = "";
        renderList(results, "Runbooks", found.runbook, root);
        renderList(results, "Past incidents", found.incident, root);
        status.textContent = "";
        container.setAttribute("data-state", "done");
      }).catch(function (error) {
        if (mine !== run) return;
        status.textContent = "The similarity index could not be loaded (" + error.message + ").";
        container.setAttribute("data-state", "error");
      });
    }

    var timer = null;
    button.addEventListener("click", function (event) { event.preventDefault(); search(); });
    textarea.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 300); });
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); search(); }
    });
    if (textarea.value.trim()) search();
  }

  // For tests and for other pages: the same tokeniser and query, without the page.
  window.kbFindSimilar = {
    makeTokeniser: makeTokeniser, makeLoader: makeLoader, makeIndex: makeIndex, fnv1a: fnv1a,
    indelSimilarity: indelSimilarity, round2: round2, display: display,
  };

  function init() {
    var container = document.getElementById("kb-find-similar");
    if (container && !container.hasAttribute("data-started")) {
      container.setAttribute("data-started", "");
      start(container);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  // Material's instant navigation swaps pages without reloading scripts.
  if (window.document$ && typeof window.document$.subscribe === "function") window.document$.subscribe(init);
})();
