// Password fields (ASVS 2.1.8, 2.1.12): a "显示/隐藏" button beside each password field shows the typed
// password while pressed on, and a strength meter under each new-password field rates what is typed
// with zxcvbn-ts (static/vendor/zxcvbn-ts, loaded before this file where a meter is shown). The markup
// is rendered by templates/_password.html; without JavaScript the buttons stay hidden and the forms
// work as before. Nothing here blocks pasting or password managers (ASVS 2.1.11).
(function () {
  "use strict";
  var LABELS = ["很弱", "弱", "一般", "较强", "强"];
  var COLOURS = ["bg-danger", "bg-danger", "bg-warning", "bg-info", "bg-success"];

  function setupToggle(button) {
    var input = document.getElementById(button.getAttribute("aria-controls"));
    if (!input) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var showing = input.type === "text";
      input.type = showing ? "password" : "text";
      button.setAttribute("aria-pressed", showing ? "false" : "true");
      button.textContent = showing ? "显示" : "隐藏";
      input.focus();
    });
    // Hide the password again before the form is sent, so the browser offers to save it as one.
    if (input.form) {
      input.form.addEventListener("submit", function () {
        input.type = "password";
      });
    }
  }

  function makeChecker() {
    var ns = window.zxcvbnts;
    if (!ns || !ns.core || !ns["language-common"]) {
      return null;
    }
    var common = ns["language-common"];
    var factory = new ns.core.ZxcvbnFactory({
      dictionary: common.dictionary,
      graphs: common.adjacencyGraphs
    });
    return function (password) {
      return factory.check(password).score;
    };
  }

  function setupMeter(meter, check) {
    var input = document.getElementById(meter.dataset.passwordMeterFor);
    var bar = meter.querySelector(".progress-bar");
    var text = meter.querySelector("[data-password-meter-text]");
    if (!input || !bar || !text) {
      return;
    }
    meter.hidden = false;
    function update() {
      if (!input.value) {
        bar.style.width = "0%";
        meter.firstElementChild.setAttribute("aria-valuenow", "0");
        text.textContent = "请输入密码";
        return;
      }
      var score = check(input.value);
      bar.className = "progress-bar " + COLOURS[score];
      bar.style.width = ((score + 1) * 20) + "%";
      meter.firstElementChild.setAttribute("aria-valuenow", String(score));
      text.textContent = "密码强度:" + LABELS[score];
    }
    input.addEventListener("input", update);
    update();
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-password-toggle]"), setupToggle);
  var meters = document.querySelectorAll("[data-password-meter-for]");
  if (meters.length) {
    var check = makeChecker();
    if (check) {
      Array.prototype.forEach.call(meters, function (meter) { setupMeter(meter, check); });
    }
  }
}());
