// Evidence in the issue page: each "查看" button (a.evidence-view) opens the viewer dialog
// (templates/issues/detail.html, #evidence-viewer) instead of leaving the page. A photo is shown
// as an <img> of its /view address; a PDF is fetched from the same kind of address and drawn page
// by page on a canvas by PDF.js (static/vendor/pdfjs, loaded on the first PDF only): the same on
// every browser, phones included, whose own PDF viewers do not all show a PDF inside a page
// ("新窗口打开" gives the browser's own viewer where it has one). Prev/next move between the
// viewable files, the arrow keys too; Esc or "关闭" closes. Without JavaScript each button opens
// the file in a new tab ("下载" always works).
// The camera button's input shows the chosen photo's name beside it.
(function () {
  "use strict";
  var dialog = document.getElementById("evidence-viewer");
  var cameraInput = document.getElementById("e-camera");
  var cameraName = document.getElementById("camera-name");
  if (cameraInput && cameraName) {
    cameraInput.addEventListener("change", function () {
      cameraName.textContent = cameraInput.files.length ? cameraInput.files[0].name : "";
    });
  }
  if (!dialog || typeof dialog.showModal !== "function") {
    return;
  }
  var links = Array.prototype.slice.call(document.querySelectorAll("a.evidence-view"));
  var title = document.getElementById("viewer-title");
  var count = document.getElementById("viewer-count");
  var image = document.getElementById("viewer-image");
  var pdfBox = document.getElementById("viewer-pdf");
  var canvas = document.getElementById("viewer-canvas");
  var pageLabel = document.getElementById("pdf-page");
  var status = document.getElementById("viewer-status");
  var download = document.getElementById("viewer-download");
  var openNew = document.getElementById("viewer-open");
  var current = -1;
  var pdfjs = null;
  var pdf = null;
  var pageNumber = 1;
  var rendering = null;
  var loading = null;

  function say(text) {
    status.textContent = text;
  }

  function library() {
    if (!pdfjs) {
      pdfjs = import(dialog.dataset.pdfjs).then(function (lib) {
        lib.GlobalWorkerOptions.workerSrc = dialog.dataset.pdfjsWorker;
        return lib;
      });
    }
    return pdfjs;
  }

  function closePdf() {
    if (rendering) {
      rendering.cancel();
      rendering = null;
    }
    if (loading) {
      loading.destroy();
      loading = null;
    }
    pdf = null;
    delete canvas.dataset.painted;
  }

  function drawPage() {
    if (!pdf) {
      return;
    }
    var doc = pdf;
    pageLabel.textContent = "第 " + pageNumber + " / " + doc.numPages + " 页";
    document.getElementById("pdf-prev").disabled = pageNumber <= 1;
    document.getElementById("pdf-next").disabled = pageNumber >= doc.numPages;
    doc.getPage(pageNumber).then(function (page) {
      if (doc !== pdf) {
        return;
      }
      var width = Math.max(200, pdfBox.clientWidth || dialog.clientWidth - 32);
      var natural = page.getViewport({ scale: 1 });
      var viewport = page.getViewport({ scale: Math.min(width / natural.width, 2) });
      var ratio = window.devicePixelRatio || 1;
      canvas.width = Math.floor(viewport.width * ratio);
      canvas.height = Math.floor(viewport.height * ratio);
      canvas.style.width = Math.floor(viewport.width) + "px";
      canvas.style.height = Math.floor(viewport.height) + "px";
      if (rendering) {
        rendering.cancel();
      }
      rendering = page.render({
        canvas: canvas,
        viewport: viewport,
        transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : null
      });
      return rendering.promise.then(function () {
        rendering = null;
        canvas.dataset.painted = String(pageNumber);
        say("");
      });
    }).catch(function (error) {
      if (error && error.name === "RenderingCancelledException") {
        return;
      }
      say("无法显示该 PDF,请下载后查看。");
    });
  }

  function showPdf(link) {
    pdfBox.hidden = false;
    say("正在打开……");
    library().then(function (lib) {
      loading = lib.getDocument({
        url: link.href,
        cMapUrl: dialog.dataset.cmaps,
        cMapPacked: true,
        useWasm: false,
        enableXfa: false
      });
      var task = loading;
      return task.promise.then(function (doc) {
        if (task !== loading) {
          return;
        }
        pdf = doc;
        pageNumber = 1;
        drawPage();
      });
    }).catch(function () {
      say("无法显示该 PDF,请下载后查看。");
    });
  }

  function show(index) {
    closePdf();
    current = (index + links.length) % links.length;
    var link = links[current];
    title.textContent = link.dataset.name;
    count.textContent = links.length > 1 ? (current + 1) + " / " + links.length : "";
    download.href = link.dataset.download;
    openNew.href = link.href;
    openNew.hidden = link.dataset.kind === "image";
    image.hidden = true;
    image.removeAttribute("src");
    pdfBox.hidden = true;
    say("");
    if (link.dataset.kind === "image") {
      say("正在打开……");
      image.alt = link.dataset.name;
      image.hidden = false;
      image.src = link.href;
    } else {
      showPdf(link);
    }
    if (!dialog.open) {
      dialog.showModal();
    }
  }

  image.addEventListener("load", function () {
    say("");
  });
  image.addEventListener("error", function () {
    if (image.getAttribute("src")) {
      image.hidden = true;
      say("无法显示该图片,请下载后查看。");
    }
  });
  links.forEach(function (link, index) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      show(index);
    });
  });
  document.getElementById("viewer-prev").addEventListener("click", function () {
    show(current - 1);
  });
  document.getElementById("viewer-next").addEventListener("click", function () {
    show(current + 1);
  });
  document.getElementById("viewer-prev").hidden = links.length < 2;
  document.getElementById("viewer-next").hidden = links.length < 2;
  document.getElementById("pdf-prev").addEventListener("click", function () {
    if (pdf && pageNumber > 1) {
      pageNumber -= 1;
      drawPage();
    }
  });
  document.getElementById("pdf-next").addEventListener("click", function () {
    if (pdf && pageNumber < pdf.numPages) {
      pageNumber += 1;
      drawPage();
    }
  });
  document.getElementById("viewer-close").addEventListener("click", function () {
    dialog.close();
  });
  dialog.addEventListener("close", function () {
    closePdf();
    image.removeAttribute("src");
  });
  dialog.addEventListener("keydown", function (event) {
    if (links.length > 1 && event.key === "ArrowLeft") {
      show(current - 1);
    } else if (links.length > 1 && event.key === "ArrowRight") {
      show(current + 1);
    }
  });
}());
