/* django-tryon admin: the bulk try-on page keeps where each garment goes, the count and
 * the cost estimate up to date while house models, the provider and the batch size are
 * picked. The server works out the same figures again (the "Update the estimate" button)
 * and checks everything on confirm.
 */
(function () {
  "use strict";

  var form = document.getElementById("tryon-bulk-form");
  var providers = read("tryon-providers");
  if (!form || !providers) {
    return;
  }
  // Per provider and batch size: which selected garments each house model already has.
  var made = read("tryon-made") || {};
  // Per garment category (and "outfit"): the admin route's providers, and which are up.
  var routes = read("tryon-routes") || {};
  var garments = read("tryon-garments") || [];
  var BY_ROUTE = "route";
  var SIGNS = { USD: "$", GBP: "£", EUR: "€" };
  var COUNTED = { units: "unit", credits: "credit", images: "image" };
  var lower = form.querySelector('[name="lower_garment"]');
  var summary = document.getElementById("tryon-bulk-summary");
  var provider = form.querySelector('[name="provider"]');
  var batchSize = form.querySelector('[name="batch_size"]');

  function read(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  // Django's JavaScript catalog when the admin page loads it; English otherwise.
  function gettext(text) {
    return window.django && window.django.gettext ? window.django.gettext(text) : text;
  }

  function ngettext(one, many, n) {
    return window.django && window.django.ngettext ? window.django.ngettext(one, many, n) : n === 1 ? one : many;
  }

  function interpolate(format, value) {
    return format.replace(/%\((count|provider)\)s/, String(value));
  }

  function field(name) {
    return summary.querySelector('[data-summary="' + name + '"]');
  }

  // As the server's display.money.
  function money(amount, currency) {
    if (SIGNS[currency]) {
      return SIGNS[currency] + amount.toFixed(2);
    }
    if (COUNTED[currency]) {
      var count = Math.round(amount * 10000) / 10000;
      return count + " " + COUNTED[currency] + (count === 1 ? "" : "s");
    }
    return (amount.toFixed(2) + " " + currency).trim();
  }

  // As the server's display.priced: the shop's money first, what is billed beside it.
  function priced(amount, cost) {
    var billed = money(amount, cost[1]);
    if (!cost[2] || !cost[3] || cost[3] === cost[1]) {
      return billed;
    }
    return money(Math.round(amount * Number(cost[2]) * 100) / 100, cost[3]) + " (" + billed + ")";
  }

  // As the server's bulk.total_text: one provider's total, or several added up.
  function totalText(parts) {
    var keys = Object.keys(parts);
    if (keys.length === 0) {
      return "";
    }
    if (keys.length === 1) {
      return priced(parts[keys[0]].amount, parts[keys[0]].cost);
    }
    var billed = keys.map(function (key) {
      return money(parts[key].amount, parts[key].cost[1]);
    });
    var allPriced = keys.every(function (key) {
      return parts[key].cost[2] && parts[key].cost[3];
    });
    if (!allPriced) {
      return billed.join(" + ");
    }
    var inMoney = 0;
    keys.forEach(function (key) {
      inMoney += parts[key].amount * Number(parts[key].cost[2]);
    });
    var shop = parts[keys[0]].cost[3];
    return money(Math.round(inMoney * 100) / 100, shop) + " (" + billed.join(" + ") + ")";
  }

  function costOf(name, category, size) {
    var prices = providers[name] && providers[name].prices[category];
    return prices ? prices[size] || prices["1"] : null;
  }

  function takes(name, category, size, outfit) {
    var choice = providers[name];
    return Boolean(choice && choice.prices[category] && Number(size) <= choice.max_batch_size && (!outfit || choice.outfits));
  }

  // As services.plan_batch: the provider picked if it takes the garment; by route, the
  // first on the garment's route that takes it and is up (else the first that takes it).
  function planOf(garment, picked, size, outfit) {
    if (picked !== BY_ROUTE) {
      return takes(picked, garment.category, size, outfit) ? picked : null;
    }
    var route = routes[outfit ? "outfit" : garment.category] || [];
    var first = null;
    for (var i = 0; i < route.length; i++) {
      if (takes(route[i][0], garment.category, size, outfit)) {
        if (route[i][1]) {
          return route[i][0];
        }
        first = first || route[i][0];
      }
    }
    return first;
  }

  // As the server's bulk._plan_row, for a garment nothing will take.
  function refusal(picked) {
    if (picked === BY_ROUTE || !providers[picked]) {
      return gettext("No provider on its route takes it");
    }
    return interpolate(gettext("%(provider)s cannot try it on"), providers[picked].label.split(" (")[0]);
  }

  function limitSizes(picked) {
    var largest = 1;
    Object.keys(providers).forEach(function (name) {
      if (picked === BY_ROUTE || name === picked) {
        largest = Math.max(largest, providers[name].max_batch_size);
      }
    });
    Array.prototype.forEach.call(batchSize.options, function (option) {
      option.disabled = Number(option.value) > largest;
    });
    if (Number(batchSize.value) > largest) {
      batchSize.value = "1";
    }
  }

  function update() {
    var picked = provider ? provider.value : "";
    if (batchSize) {
      limitSizes(picked);
    }
    var size = batchSize ? batchSize.value : "1";
    var outfit = Boolean(lower && lower.value);
    var checked = Array.prototype.map.call(form.querySelectorAll('[name="model_photos"]:checked'), function (box) {
      return box.value;
    });
    var count = 0;
    var already = 0;
    var parts = {};
    var each = {};
    var refused = false;
    garments.forEach(function (garment) {
      var chosen = planOf(garment, picked, size, outfit);
      var cost = chosen ? costOf(chosen, garment.category, size) : null;
      var note = form.querySelector('[data-plan="' + garment.pk + '"]');
      if (note) {
        note.textContent = chosen ? "→ " + providers[chosen].label + (cost ? " · " + priced(Number(cost[0]), cost) : "") : refusal(picked);
        note.classList.toggle("tryon-plan-refused", !chosen);
      }
      refused = refused || !chosen || !cost;
      // Known for runs without a lower garment; with one, "Update the estimate" asks the server.
      var known = !outfit && chosen && made[chosen] && made[chosen][size];
      var fresh = 0;
      checked.forEach(function (photo) {
        var done = known && known[photo] && known[photo].indexOf(garment.pk) !== -1;
        already += done ? 1 : 0;
        fresh += done ? 0 : 1;
      });
      count += fresh;
      if (cost) {
        each[priced(Number(cost[0]), cost)] = true;
        var key = [cost[1], cost[2], cost[3]].join("|");
        parts[key] = parts[key] || { amount: 0, cost: cost };
        parts[key].amount += Number(cost[0]) * fresh;
      }
    });
    var photos = checked.length;
    field("count").textContent = String(count);
    field("photos").textContent = String(photos);
    field("made").textContent = String(already);
    field("made-note").hidden = already === 0;
    field("nothing-new").hidden = !(photos > 0 && count === 0);
    var confirm = form.querySelector('[data-summary="confirm"]');
    // A garment nothing takes would be refused on confirm: said on its card instead.
    confirm.disabled = refused || (photos > 0 && count === 0);
    confirm.value = count ? interpolate(ngettext("Start %(count)s try-on", "Start %(count)s try-ons", count), count) : gettext("Start the try-ons");
    if (!field("total")) {
      return;
    }
    var prices = Object.keys(each);
    field("each-note").hidden = refused || prices.length !== 1;
    field("each").textContent = prices.length === 1 ? prices[0] : "";
    field("total").textContent = refused ? "—" : totalText(parts) || priced(0, [0, "", "", ""]);
  }

  form.addEventListener("change", update);
  update();
})();
