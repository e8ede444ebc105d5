/* incidentkb search: Pagefind behind Material's search box (see scripts/incidentkb/search.py).
 *
 * - Loads nothing until the search box is used; then pagefind/pagefind.js (with its wasm and
 *   the index chunks for the words typed) and, separately, kb-search/config.json (filter choices).
 * - An exact id or alert name is looked up first in kb-search/exact/N.json and shown on top.
 * - Every value from the index is inserted as text; Pagefind's excerpts are rebuilt node by
 *   node keeping only <mark>.
 * - Links are relative to the current page, so the site works under any path and from a copy.
 * - Keys as in Material: / s f focus, arrows move, Enter opens, Escape closes.
 */
(function () {
  "use strict";

  var PAGE_SIZE = 10;
  var FIRST_BATCH = 4; // results loaded before the rest of the page: a stale query wastes fewer fragments
  var DEBOUNCE_MS = 80; // a search per pause in typing, not per key: each one may load index chunks
  // Someone typing steadily (150 ms a key, say) pauses longer than that between keys only when
  // the query is done: wait for a pause longer than their own rhythm, so the words half typed do
  // not each load index chunks and result snippets (measured: 626 kB instead of 473 kB for
  // "checkout latency rollback" typed at 150 ms a key).
  var RHYTHM_FACTOR = 1.5;
  var MAX_DEBOUNCE_MS = 300;
  // A word of one or two characters at the end is most likely still being typed, and as a prefix
  // it would load an index chunk of its own: wait longer before searching it.
  var SHORT_WORD_DEBOUNCE_MS = 350;
  var MIN_WORD_SEARCH = 2; // characters; one letter would load a whole index chunk for nothing useful

  var base = ".";
  try {
    base = JSON.parse(document.getElementById("__config").textContent).base || ".";
  } catch (error) { /* not a Material page: assume the site root is here */ }
  var REL_ROOT = base.replace(/\/?$/, "/"); // site root relative to this page, e.g. "../../"
  var ROOT = new URL(REL_ROOT, location.href); // the same, absolute

  /* ---------------------------------------------------------------- file:// links */

  // Opened from disk, a link to "incidents/2025/" shows a folder listing: point it at index.html.
  if (location.protocol === "file:") {
    document.querySelectorAll("a[href]").forEach(fixFileLink);
  }

  function fixFileLink(anchor) {
    var href = anchor.getAttribute("href");
    if (/^([a-z][a-z0-9+.-]*:|\/\/|#)/i.test(href)) return;
    var cut = href.search(/[?#]/);
    var path = cut < 0 ? href : href.slice(0, cut);
    if (path === "" || /\/$/.test(path) || path === "." || path === "..") {
      path = (path === "" ? "./" : path.replace(/\/?$/, "/")) + "index.html";
      anchor.setAttribute("href", path + (cut < 0 ? "" : href.slice(cut)));
    }
  }

  /* ------------------------------------------------------------------ the engine */

  // Two independent loads, so an exact match can show before Pagefind is ready.
  var config = null;
  var pagefind = null;

  function loadConfig() {
    if (!config) {
      config = location.protocol === "file:" ? Promise.reject(new OfflineError()) : fetchJson("kb-search/config.json");
      config.catch(function () { /* reported by the view that asked */ });
    }
    return config;
  }

  function loadPagefind() {
    if (!pagefind) {
      pagefind = location.protocol === "file:" ? Promise.reject(new OfflineError())
        : import(new URL("pagefind/pagefind.js", ROOT).href).then(function (module) {
          return Promise.resolve(module.options({ excerptLength: 24 })).then(function () {
            module.init();
            return module;
          });
        });
      pagefind.catch(function () { /* reported by the view that asked */ });
    }
    return pagefind;
  }

  function loadEngine() {
    loadPagefind();
    return loadConfig();
  }

  function OfflineError() {
    this.name = "OfflineError";
    this.message = "Search needs the site to be served over http (browsers block the search index on file://). " +
      "Run `kb serve --offline site.zip`, or `python -m http.server` in the site folder, and open http://localhost:8000/.";
  }

  function fetchJson(path) {
    return fetch(new URL(path, ROOT).href).then(function (response) {
      if (!response.ok) throw new Error(path + ": HTTP " + response.status);
      return response.json();
    });
  }

  // 32-bit FNV-1a over UTF-8, as search.fnv1a computes it for the shard files.
  function fnv1a(text) {
    var bytes = new TextEncoder().encode(text);
    var hash = 0x811c9dc5;
    for (var i = 0; i < bytes.length; i++) {
      hash ^= bytes[i];
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return hash >>> 0;
  }

  // What a responder pastes: `KubePodCrashLooping`, alertname="KubePodCrashLooping", "INC-2025-014 ".
  function exactKey(query) {
    return query.trim()
      .replace(/^alertname\s*[=:]\s*/i, "")
      .replace(/^["'`]+|["'`]+$/g, "")
      .trim()
      .toLowerCase();
  }

  var shards = {};

  function exactLookup(query, settings) {
    var key = exactKey(query);
    // Every key is one id or alert name, never two words: "connection refused" need not fetch a shard.
    if (!key || /\s/.test(key)) return Promise.resolve([]);
    var shard = fnv1a(key) % settings.shards;
    if (!shards[shard]) {
      shards[shard] = fetchJson("kb-search/exact/" + shard + ".json").catch(function () { return {}; });
    }
    return shards[shard].then(function (map) {
      return (Object.prototype.hasOwnProperty.call(map, key) ? map[key] : []).map(function (row) {
        return {
          url: row[0], title: row[1], type: row[2], text: row[3], severity: row[4],
          services: row[5] ? row[5].split(" ") : [], exact: true,
        };
      });
    });
  }

  /* ------------------------------------------------------------------- rendering */

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  // Pagefind's excerpt is HTML-escaped text with <mark> around matches: keep the marks, nothing else.
  function excerptNodes(html) {
    var doc = new DOMParser().parseFromString("<p>" + html + "</p>", "text/html");
    var fragment = document.createDocumentFragment();
    var paragraph = doc.body.firstChild;
    (paragraph ? paragraph.childNodes : []).forEach(function (node) {
      if (node.nodeName === "MARK") fragment.appendChild(el("mark", null, node.textContent));
      else fragment.appendChild(document.createTextNode(node.textContent));
    });
    return fragment;
  }

  // Mark every case-insensitive occurrence of `needle` in plain text.
  function highlighted(text, needle) {
    var fragment = document.createDocumentFragment();
    var lower = text.toLowerCase();
    var at = 0;
    if (needle) {
      for (var found = lower.indexOf(needle); found >= 0; found = lower.indexOf(needle, at)) {
        fragment.appendChild(document.createTextNode(text.slice(at, found)));
        fragment.appendChild(el("mark", null, text.slice(found, found + needle.length)));
        at = found + needle.length;
      }
    }
    fragment.appendChild(document.createTextNode(text.slice(at)));
    return fragment;
  }

  function truncate(text, length) {
    return text.length > length ? text.slice(0, length - 1).replace(/\s+\S*$/, "") + " …" : text;
  }

  /* ------------------------------------------------------------------------ views */

  var views = [];

  // One search box with its filters and result list: the one in the header, or one on a page.
  function SearchView(root, options) {
    this.root = root;
    this.input = root.querySelector("[data-kb-search-query]");
    this.meta = root.querySelector("[data-kb-search-meta]");
    this.list = root.querySelector("[data-kb-search-list]");
    this.filterBox = root.querySelector("[data-kb-search-filters]");
    this.header = !!options.header;
    this.token = 0;
    this.timer = null;
    this.lastInput = 0;
    this.gaps = []; // the last few intervals between keys, in ms
    this.results = [];
    this.shown = 0;
    this.exactUrls = {};
    this.selects = {};
    this.initialMeta = this.meta.textContent;
    this.root.setAttribute("data-kb-search-state", "done");
    this.bind();
  }

  SearchView.prototype.bind = function () {
    var view = this;
    var form = this.input.form;
    this.input.addEventListener("input", function () { view.noteKey(); view.schedule(); });
    this.input.addEventListener("focus", function () {
      if (view.header) setOpen(true);
      loadEngine().then(function (loaded) { view.fillFilters(loaded); }, function () {});
    });
    this.input.addEventListener("keydown", function (event) { view.onInputKey(event); });
    this.list.addEventListener("keydown", function (event) { view.onListKey(event); });
    if (form) {
      form.addEventListener("submit", function (event) { event.preventDefault(); view.openActive(); });
      form.addEventListener("reset", function () {
        window.setTimeout(function () { view.schedule(); view.input.focus(); }, 0);
      });
    }
  };

  SearchView.prototype.fillFilters = function (settings) {
    if (!this.filterBox || this.filterBox.childElementCount) return;
    var view = this;
    var labels = { type: "Type", severity: "Severity", service: "Service" };
    Object.keys(labels).forEach(function (name) {
      var choices = (settings.filters || {})[name] || [];
      if (!choices.length) return;
      var label = el("label", "kb-search__filter");
      label.appendChild(el("span", null, labels[name]));
      var select = el("select");
      select.name = name;
      select.setAttribute("data-kb-search-filter", name);
      select.appendChild(new Option("All", ""));
      choices.forEach(function (pair) { select.appendChild(new Option(pair[1], pair[0])); });
      select.addEventListener("change", function () { view.schedule(0); });
      label.appendChild(select);
      view.filterBox.appendChild(label);
      view.selects[name] = select;
    });
    this.severityRank = {};
    ((settings.filters || {}).severity || []).forEach(function (pair, index) { view.severityRank[pair[0]] = index; });
    this.labels = settings.labels || {};
    this.serviceNames = {};
    ((settings.filters || {}).service || []).forEach(function (pair) { view.serviceNames[pair[0]] = pair[1]; });
  };

  SearchView.prototype.filters = function () {
    var chosen = {};
    var selects = this.selects;
    Object.keys(selects).forEach(function (name) {
      if (selects[name].value) chosen[name] = selects[name].value;
    });
    return chosen;
  };

  SearchView.prototype.noteKey = function () {
    var now = Date.now();
    var gap = now - this.lastInput;
    this.lastInput = now;
    if (gap < 1000) this.gaps = this.gaps.concat([gap]).slice(-4); // longer: a new start, not a rhythm
    else this.gaps = [];
  };

  // How long to wait after this key: a little longer than this person's usual gap between keys.
  SearchView.prototype.typingPause = function () {
    if (this.gaps.length < 2) return DEBOUNCE_MS;
    var sorted = this.gaps.slice().sort(function (a, b) { return a - b; });
    var median = sorted[Math.floor(sorted.length / 2)];
    return Math.min(MAX_DEBOUNCE_MS, Math.max(DEBOUNCE_MS, Math.round(median * RHYTHM_FACTOR)));
  };

  SearchView.prototype.schedule = function (delay) {
    var view = this;
    var token = ++this.token; // results of any earlier query still on their way are now stale
    this.root.setAttribute("data-kb-search-state", "searching"); // "done" once results are shown (for tests)
    window.clearTimeout(this.timer);
    if (delay == null) {
      var last = /\S*$/.exec(this.input.value)[0]; // "db-primary-01" is one word here, "x509: c" ends in "c"
      delay = Math.max(this.typingPause(), last && last.length < 3 ? SHORT_WORD_DEBOUNCE_MS : 0);
    }
    this.timer = window.setTimeout(function () { view.run(token); }, delay);
  };

  SearchView.prototype.run = function (token) {
    var view = this;
    if (token !== this.token) return;
    var query = this.input.value.trim();
    var filters = this.filters();
    if (!query && !Object.keys(filters).length) {
      this.clear(this.initialMeta);
      this.root.setAttribute("data-kb-search-state", "done");
      return;
    }
    var search = query && query.length < MIN_WORD_SEARCH ? Promise.resolve({ results: [] })
      : loadPagefind().then(function (module) { return view.searchLatest(module, query, filters); });
    search.catch(function () { /* handled below */ });
    loadEngine().then(function (loaded) {
      if (token !== view.token) return;
      view.fillFilters(loaded);
      var exact = query ? exactLookup(query, loaded) : Promise.resolve([]);
      return exact.then(function (hits) {
        if (token !== view.token) return;
        hits = hits.filter(function (hit) { return matches(hit, filters); });
        view.clear(null);
        view.exactUrls = {};
        hits.forEach(function (hit) {
          view.exactUrls["/" + hit.url] = true;
          view.list.appendChild(view.item(hit, exactKey(query)));
        });
        view.exactCount = hits.length;
        if (hits.length) view.setCount(hits.length);
        return search;
      }).then(function (found) {
        if (token !== view.token || !found) return;
        view.results = found.results;
        view.shown = 0;
        view.total = view.exactCount + view.results.length;
        view.setCount(view.total);
        return view.more(token);
      }).then(function () {
        if (token === view.token) view.root.setAttribute("data-kb-search-state", "done");
      });
    }).catch(function (error) { view.fail(error, token); });
  };

  // Pagefind ranks words, not phrases: for "connection refused" a page with both words far apart
  // can outrank one quoting the error. So the pages that hold the words side by side, as typed
  // (Pagefind's "quoted" search, which finds them but does not rank them), come first, each group
  // in Pagefind's order. Both searches use the same index chunks.
  function rankedSearch(pagefind, query, filters) {
    var options = { filters: filters };
    var words = query.split(/[\s\p{P}\p{S}]+/u).filter(Boolean);
    if (words.length < 2 || /^\s*".*"\s*$/.test(query)) return pagefind.search(query || null, options);
    return Promise.all([pagefind.search('"' + query.replace(/"/g, " ") + '"', options),
      pagefind.search(query, options)]).then(function (both) {
      var phrase = {};
      both[0].results.forEach(function (result) { phrase[result.id] = true; });
      var ranked = both[1].results;
      var seen = {};
      ranked.forEach(function (result) { seen[result.id] = true; });
      var rest = both[0].results.filter(function (result) { return !seen[result.id]; });
      return {
        results: ranked.filter(function (result) { return phrase[result.id]; })
          .concat(rest, ranked.filter(function (result) { return !phrase[result.id]; })),
      };
    });
  }

  function matches(hit, filters) {
    if (filters.type && hit.type !== filters.type) return false;
    if (filters.severity && hit.severity !== filters.severity) return false;
    if (filters.service && hit.services.indexOf(filters.service) < 0) return false;
    return true;
  }

  // Load and show the next page of Pagefind results.
  // One Pagefind search at a time per box; while it runs, only the newest query waits (the ones
  // typed in between are dropped), so a fast typist does not queue a search, and its index chunks,
  // per key.
  SearchView.prototype.searchLatest = function (module, query, filters) {
    var view = this;
    return new Promise(function (resolve, reject) {
      if (view.waiting) view.waiting.resolve(null); // overtaken by this one
      view.waiting = { run: function () { return rankedSearch(module, query, filters); }, resolve: resolve,
        reject: reject };
      view.pump();
    });
  };

  SearchView.prototype.pump = function () {
    var view = this;
    if (this.busy || !this.waiting) return;
    var job = this.waiting;
    this.waiting = null;
    this.busy = true;
    job.run().then(job.resolve, job.reject).then(function () {
      view.busy = false;
      view.pump();
    });
  };

  // Load and show the next page of results: the first few, then (if still wanted) the rest, each
  // result shown as soon as it and those above it are loaded.
  SearchView.prototype.more = function (token) {
    var view = this;
    var end = this.shown + PAGE_SIZE;
    this.removeMoreButton();
    function step(size) {
      var batch = view.results.slice(view.shown, Math.min(view.shown + size, end));
      view.shown += batch.length;
      var shown = Promise.resolve();
      batch.map(function (result) { return result.data(); }).forEach(function (loading) {
        shown = shown.then(function () { return loading; }).then(function (data) {
          if (token === view.token) view.show(data);
        });
      });
      return shown.then(function () {
        if (token !== view.token) return;
        if (view.shown < end && view.shown < view.results.length) return step(PAGE_SIZE);
        if (view.shown < view.results.length) view.addMoreButton(token);
      });
    }
    return step(FIRST_BATCH);
  };

  SearchView.prototype.show = function (data) {
    if (this.exactUrls[data.url]) {
      this.total -= 1; // already on top as the exact match
      this.setCount(this.total);
      return;
    }
    var filters = data.filters || {};
    this.list.appendChild(this.item({
      url: data.url.replace(/^\//, ""),
      title: (data.meta && data.meta.title) || data.url,
      type: (filters.type || ["page"])[0],
      severity: (filters.severity || [""])[0],
      services: filters.service || [],
      excerpt: data.excerpt,
    }, null));
  };

  SearchView.prototype.item = function (hit, needle) {
    var li = el("li", "md-search-result__item");
    var link = el("a", "md-search-result__link");
    link.href = REL_ROOT + hit.url;
    link.tabIndex = -1;
    link.setAttribute("data-kb-search-type", hit.type);
    var article = el("article", "md-search-result__article md-typeset kb-search-result");
    var facts = el("div", "kb-search-result__facts");
    facts.appendChild(el("span", "kb-search-result__type", (this.labels || {})[hit.type] || hit.type));
    if (hit.severity) {
      var rank = this.severityRank && hit.severity in this.severityRank ? this.severityRank[hit.severity] : 4;
      facts.appendChild(el("span", "kb-sev kb-sev-" + (Math.min(rank, 4) + 1), hit.severity));
    }
    if (hit.services.length) {
      var names = this.serviceNames || {};
      facts.appendChild(el("span", "kb-search-result__services",
        hit.services.map(function (id) { return names[id] || id; }).join(", ")));
    }
    if (hit.exact) facts.appendChild(el("span", "kb-search-result__exact", "exact match"));
    article.appendChild(facts);
    var title = el("h1");
    title.appendChild(needle ? highlighted(hit.title, needle) : document.createTextNode(hit.title));
    article.appendChild(title);
    var snippet = el("p", "kb-search-result__snippet");
    if (hit.excerpt != null) snippet.appendChild(excerptNodes(hit.excerpt));
    else if (hit.text) snippet.appendChild(highlighted(truncate(hit.text, 220), needle));
    if (snippet.childNodes.length) article.appendChild(snippet);
    link.appendChild(article);
    li.appendChild(link);
    return li;
  };

  SearchView.prototype.addMoreButton = function (token) {
    var view = this;
    var li = el("li", "md-search-result__item kb-search__more");
    var button = el("button", "md-search-result__link kb-search__more-button", "Show more results");
    button.type = "button";
    button.tabIndex = -1;
    button.addEventListener("click", function () {
      var next = view.list.children.length - 1;
      view.root.setAttribute("data-kb-search-state", "searching");
      view.more(token).then(function () {
        view.root.setAttribute("data-kb-search-state", "done");
        var links = view.links();
        if (links[next]) links[next].focus();
      });
    });
    li.appendChild(button);
    this.list.appendChild(li);
  };

  SearchView.prototype.removeMoreButton = function () {
    var more = this.list.querySelector(".kb-search__more");
    if (more) more.remove();
  };

  SearchView.prototype.setCount = function (count) {
    this.meta.textContent = count === 0 ? "No matching documents"
      : count === 1 ? "1 matching document" : count + " matching documents";
  };

  SearchView.prototype.clear = function (meta) {
    this.list.textContent = "";
    this.results = [];
    this.shown = 0;
    this.exactCount = 0;
    if (meta != null) this.meta.textContent = meta;
  };

  SearchView.prototype.fail = function (error, token) {
    if (token !== this.token) return;
    this.clear(error instanceof OfflineError ? error.message : "Search is unavailable: " + (error && error.message));
    this.root.classList.add("kb-search--failed");
    this.root.setAttribute("data-kb-search-state", "done");
  };

  /* --------------------------------------------------------------------- keyboard */

  SearchView.prototype.links = function () {
    return Array.prototype.slice.call(this.list.querySelectorAll(".md-search-result__link"));
  };

  SearchView.prototype.openActive = function () {
    var links = this.links().filter(function (link) { return link.tagName === "A"; });
    if (links.length) links[0].click();
  };

  SearchView.prototype.onInputKey = function (event) {
    if (event.key === "ArrowDown") {
      var links = this.links();
      if (links.length) { event.preventDefault(); links[0].focus(); }
    } else if (event.key === "Escape" && this.header) {
      event.preventDefault();
      setOpen(false);
    }
  };

  SearchView.prototype.onListKey = function (event) {
    var links = this.links();
    var index = links.indexOf(document.activeElement);
    if (index < 0) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var next = index + (event.key === "ArrowDown" ? 1 : -1);
      if (next < 0) this.input.focus();
      else links[Math.min(next, links.length - 1)].focus();
    } else if (event.key === "Escape" && this.header) {
      event.preventDefault();
      setOpen(false);
    } else if (event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
      this.input.focus(); // typing goes on in the box, as in Material
    }
  };

  /* ------------------------------------------------------------------- the header */

  var toggle = document.getElementById("__search");

  function setOpen(open) {
    if (!toggle || toggle.checked === open) return;
    toggle.checked = open;
    toggle.dispatchEvent(new Event("change"));
    var header = views.filter(function (view) { return view.header; })[0];
    if (!open && header && header.root.contains(document.activeElement)) document.activeElement.blur();
  }

  function isEditable(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isEditable(event.target)) return;
    if (event.key === "/" || event.key === "s" || event.key === "f") {
      var target = views.filter(function (view) { return !view.header; })[0] || views[0];
      if (!target) return;
      event.preventDefault();
      target.input.focus();
      target.input.select();
    } else if (event.key === "Escape" && toggle && toggle.checked) {
      setOpen(false);
    }
  });

  /* --------------------------------------------------------- a search box on a page */

  // <div id="kb-search-page"></div> in any page (the home page) becomes a large search box.
  function mountPageSearch(host) {
    host.classList.add("kb-search-page", "md-search");
    var form = el("form", "md-search__form kb-search-page__form");
    form.setAttribute("role", "search");
    var input = el("input", "md-search__input kb-search-page__input");
    input.type = "search";
    input.name = "query";
    input.placeholder = host.getAttribute("data-placeholder") || "Alert name, error message, host, incident id…";
    input.setAttribute("aria-label", "Search the knowledge base");
    input.setAttribute("autocomplete", "off");
    input.setAttribute("autocapitalize", "off");
    input.setAttribute("spellcheck", "false");
    input.setAttribute("data-kb-search-query", "");
    form.appendChild(input);
    var filters = el("div", "kb-search__filters");
    filters.setAttribute("data-kb-search-filters", "");
    var result = el("div", "md-search-result kb-search-page__result");
    var meta = el("div", "md-search-result__meta", "Type to search incidents, runbooks and policy");
    meta.setAttribute("data-kb-search-meta", "");
    meta.setAttribute("aria-live", "polite");
    var list = el("ol", "md-search-result__list");
    list.setAttribute("data-kb-search-list", "");
    result.appendChild(meta);
    result.appendChild(list);
    host.textContent = "";
    host.appendChild(form);
    host.appendChild(filters);
    host.appendChild(result);
    return new SearchView(host, { header: false });
  }

  /* ------------------------------------------------------------------------ start */

  var headerRoot = document.querySelector("[data-kb-search]");
  if (headerRoot) {
    views.push(new SearchView(headerRoot, { header: true }));
    if (toggle) {
      toggle.addEventListener("change", function () {
        if (toggle.checked && document.activeElement !== views[0].input) views[0].input.focus();
      });
    }
  }
  var pageHost = document.getElementById("kb-search-page");
  if (pageHost) views.push(mountPageSearch(pageHost));

  // ?q=… (e.g. a link from an alert) starts a search: on the page's box if there is one.
  var initial = new URLSearchParams(location.search).get("q");
  if (initial && views.length) {
    var target = views.filter(function (view) { return !view.header; })[0] || views[0];
    target.input.value = initial;
    if (target.header) setOpen(true);
    target.input.focus();
    target.schedule(0);
  }
})();
