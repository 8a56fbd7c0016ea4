// Print buttons: any element with data-print opens the browser's print dialog.
// The buttons start hidden, so without JavaScript none is shown that would do nothing.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-print]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.hidden = false;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      window.print();
    });
  });
}());
