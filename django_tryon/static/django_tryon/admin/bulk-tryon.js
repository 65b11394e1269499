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
  var summary = document.getElementById("tryon-bulk-summary");
  var garments = Number(summary.getAttribute("data-garments") || 0);
  var provider = form.querySelector('[name="provider"]');
  var batchSize = form.querySelector('[name="batch_size"]');

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
    var photos = form.querySelectorAll('[name="model_photos"]:checked').length;
    var count = garments * photos;
    field("count").textContent = String(count);
    field("photos").textContent = String(photos);
    var confirm = form.querySelector('[data-summary="confirm"]');
    confirm.value = count ? "Start " + count + " try-on" + (count === 1 ? "" : "s") : "Start the try-ons";
    if (!choice || !field("total")) {
      return;
    }
    var cost = choice.costs[batchSize ? batchSize.value : "1"] || choice.costs["1"];
    var each = Number(cost[0]);
    field("each").textContent = money(each, cost[1]);
    field("total").textContent = money(each * count, cost[1]);
  }

  form.addEventListener("change", update);
  update();
})();
