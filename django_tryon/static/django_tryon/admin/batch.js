/* django-tryon admin: the batch page follows its batch without reloading.
 *
 * Polls the batch's progress URL (JSON) every few seconds until every try-on has finished:
 * moves the progress bar, updates the counts and the time left, adds new results to the
 * grid (from a <template>, text set with textContent, never as HTML) and shows the failed
 * ones. Plain JavaScript, no build step, no dependencies.
 */
(function () {
  "use strict";

  var root = document.getElementById("tryon-batch");
  if (!root || !window.fetch) {
    return;
  }
  var progressUrl = root.getAttribute("data-progress-url");
  var pollMs = Math.max(500, Number(root.getAttribute("data-poll-seconds") || 2) * 1000);
  var resultsShown = Number(root.getAttribute("data-results-count") || 0);
  var template = document.getElementById("tryon-result-card");
  var misses = 0;

  function part(name) {
    return root.querySelector('[data-part="' + name + '"]');
  }

  function setText(node, text) {
    if (node && node.textContent !== String(text)) {
      node.textContent = String(text);
    }
  }

  function timeLeft(data) {
    if (data.finished) {
      return "Finished";
    }
    var seconds = data.eta_seconds;
    if (seconds === null || seconds === undefined) {
      return "estimating the time left…";
    }
    if (seconds < 5) {
      return "a few seconds left";
    }
    if (seconds < 90) {
      return "about " + Math.round(seconds) + " s left";
    }
    return "about " + Math.round(seconds / 60) + " min left";
  }

  function renderProgress(data) {
    var bar = part("bar");
    bar.setAttribute("aria-valuenow", String(data.percent));
    bar.querySelector(".tryon-progress-bar").style.width = data.percent + "%";
    setText(part("done"), data.done);
    setText(part("total"), data.total);
    setText(part("percent"), data.percent);
    setText(part("eta"), timeLeft(data));
    data.groups.forEach(function (group) {
      setText(root.querySelector('[data-count="' + group.key + '"]'), group.count);
    });
  }

  function renderFailures(data) {
    var section = part("failures-section");
    var list = part("failures");
    section.hidden = data.failed_total === 0;
    list.replaceChildren();
    data.failures.forEach(function (failure) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = failure.url;
      link.textContent = failure.garment + (failure.model ? " · " + failure.model : "");
      item.appendChild(link);
      item.appendChild(document.createTextNode(": " + failure.reason));
      list.appendChild(item);
    });
  }

  function card(result) {
    var node = template.content.firstElementChild.cloneNode(true);
    node.setAttribute("data-result", result.id);
    if (result.approved) {
      node.classList.add("is-approved");
    }
    var link = node.querySelector("a");
    link.href = result.url;
    var image = node.querySelector("img");
    image.src = result.url;
    image.alt = result.garment + " · " + result.model;
    var box = node.querySelector('input[name="result"]');
    if (box) {
      box.value = result.id;
      box.disabled = !result.publishable;
    }
    node.querySelector(".tryon-grid-name").textContent = result.garment;
    node.querySelector(".tryon-grid-model").textContent = result.model;
    node.querySelector('[data-part="approved"]').hidden = !result.approved;
    return node;
  }

  function renderResults(data) {
    var grid = part("grid");
    data.results.forEach(function (result) {
      if (!grid.querySelector('[data-result="' + result.id + '"]')) {
        grid.appendChild(card(result));
      }
    });
    resultsShown = grid.querySelectorAll("[data-result]").length;
    setText(part("results-count"), resultsShown);
    part("no-results").hidden = resultsShown > 0;
  }

  function poll() {
    // Always ask for every result: results are ordered by creation time, and a result
    // created earlier can commit later (several workers), so an offset would skip it.
    // Cards are matched by id below, so nothing is shown twice.
    var url = progressUrl;
    fetch(url, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        misses = 0;
        part("note").hidden = true;
        renderProgress(data);
        renderFailures(data);
        renderResults(data);
        root.setAttribute("data-finished", data.finished ? "true" : "false");
        if (!data.finished) {
          window.setTimeout(poll, pollMs);
        }
      })
      .catch(function () {
        misses += 1;
        var note = part("note");
        note.textContent = "Lost touch with the server; trying again…";
        note.hidden = false;
        window.setTimeout(poll, Math.min(pollMs * (misses + 1), 30000));
      });
  }

  if (root.getAttribute("data-finished") !== "true") {
    window.setTimeout(poll, pollMs);
  }
})();
