/* django-tryon admin: the bulk try-on page keeps its count and cost estimate up to date
 * while house models, the provider and the batch size are picked. The server computes the
 * same figures again (the "Update the estimate" button) and checks everything on confirm.
 */
(function () {
  "use strict";

  var form = document.getElementById("tryon-bulk-form");
  var data = document.getElementById("tryon-providers");
  if (!form || !data) {
    return;
  }
  var providers = JSON.parse(data.textContent);
  // Per provider and batch size: how many selected garments each house model already has.
  var madeData = document.getElementById("tryon-made");
  var made = madeData ? JSON.parse(madeData.textContent) : {};
  var lower = form.querySelector('[name="lower_garment"]');
  var summary = document.getElementById("tryon-bulk-summary");
  var garments = Number(summary.getAttribute("data-garments") || 0);
  var provider = form.querySelector('[name="provider"]');
  var batchSize = form.querySelector('[name="batch_size"]');

  // Django's JavaScript catalog when the admin page loads it; English otherwise.
  function gettext(text) {
    return window.django && window.django.gettext ? window.django.gettext(text) : text;
  }

  function ngettext(one, many, n) {
    return window.django && window.django.ngettext ? window.django.ngettext(one, many, n) : n === 1 ? one : many;
  }

  function interpolate(format, count) {
    return format.replace("%(count)s", String(count));
  }

  function field(name) {
    return summary.querySelector('[data-summary="' + name + '"]');
  }

  function money(amount, currency) {
    if (currency === "USD") {
      return "$" + amount.toFixed(2);
    }
    if (currency === "units") {
      var units = Math.round(amount * 10000) / 10000;
      return units + (units === 1 ? " unit" : " units");
    }
    return amount.toFixed(2) + " " + currency;
  }

  // As the server's display.priced: the shop's money first, what is billed beside it.
  function priced(amount, cost) {
    var billed = money(amount, cost[1]);
    if (!cost[2] || !cost[3] || cost[3] === cost[1]) {
      return billed;
    }
    return money(Math.round(amount * Number(cost[2]) * 100) / 100, cost[3]) + " (" + billed + ")";
  }

  function update() {
    var choice = providers[provider ? provider.value : ""];
    if (choice && batchSize) {
      Array.prototype.forEach.call(batchSize.options, function (option) {
        option.disabled = Number(option.value) > choice.max_batch_size;
      });
      if (Number(batchSize.value) > choice.max_batch_size) {
        batchSize.value = "1";
      }
    }
    var checked = form.querySelectorAll('[name="model_photos"]:checked');
    var photos = checked.length;
    var size = batchSize ? batchSize.value : "1";
    // Known for runs without a lower garment; with one, "Update the estimate" asks the server.
    var known = (!lower || !lower.value) && made[provider ? provider.value : ""];
    var already = 0;
    Array.prototype.forEach.call(checked, function (box) {
      already += (known && known[size] && known[size][box.value]) || 0;
    });
    var count = garments * photos - already;
    field("count").textContent = String(count);
    field("photos").textContent = String(photos);
    field("made").textContent = String(already);
    field("made-note").hidden = already === 0;
    field("nothing-new").hidden = !(photos > 0 && count === 0);
    var confirm = form.querySelector('[data-summary="confirm"]');
    confirm.disabled = photos > 0 && count === 0;
    confirm.value = count ? interpolate(ngettext("Start %(count)s try-on", "Start %(count)s try-ons", count), count) : gettext("Start the try-ons");
    if (!choice || !field("total")) {
      return;
    }
    var cost = choice.costs[batchSize ? batchSize.value : "1"] || choice.costs["1"];
    var each = Number(cost[0]);
    field("each").textContent = priced(each, cost);
    field("total").textContent = priced(each * count, cost);
  }

  form.addEventListener("change", update);
  update();
})();
