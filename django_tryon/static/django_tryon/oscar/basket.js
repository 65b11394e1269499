// Oscar's header says the basket's total. The widget adds to the basket without leaving
// the page, so after Oscar confirmed an add (tryon:added-to-cart, with the JSON answer of
// django_tryon.contrib.oscar's view) the header says the new total too.
"use strict";
document.addEventListener("tryon:added-to-cart", (event) => {
  const total = event.detail.response && event.detail.response.basket_total;
  const label = document.querySelector(".basket-mini strong");
  if (!total || !label) {
    return;
  }
  let node = label.nextSibling;
  while (node && !(node.nodeType === Node.TEXT_NODE && node.textContent.trim())) {
    node = node.nextSibling;
  }
  if (node) {
    node.textContent = ` ${total} `;
  }
});
