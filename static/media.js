// Media library upload: a drop zone and a progress bar per file. Without
// this script the form posts every file at once and the server answers
// with a summary; with it, each file goes in its own request to the same
// URL (the form's action, which carries the CSRF token) with
// `Accept: application/json`, and the grid reloads when all are done.
"use strict";

(function () {
  var form = document.getElementById("media-upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) {
    return;
  }
  var input = document.getElementById("f-file");
  var zone = document.getElementById("drop-zone");
  var list = document.getElementById("upload-progress");
  var tags = document.getElementById("f-tags");
  var hint = zone.querySelector(".drop-hint");
  if (hint) {
    hint.hidden = false;
  }
  zone.classList.add("drop-ready");

  function row(file) {
    var li = document.createElement("li");
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    var status = document.createElement("span");
    status.className = "upload-status";
    status.textContent = "waiting";
    li.appendChild(name);
    li.appendChild(bar);
    li.appendChild(status);
    list.appendChild(li);
    return { li: li, bar: bar, status: status };
  }

  function message(xhr) {
    try {
      var body = JSON.parse(xhr.responseText);
      if (body.error && body.error.message) {
        var details = body.error.details || [];
        return details.length && details[0].message ? details[0].message : body.error.message;
      }
      var file = body.files && body.files[0];
      if (file) {
        if (file.outcome === "created") { return "uploaded"; }
        if (file.outcome === "existing") { return "already stored"; }
        return file.message || "refused";
      }
    } catch (e) {
      // not JSON: fall through
    }
    return "failed (HTTP " + xhr.status + ")";
  }

  function send(file, view) {
    return new Promise(function (resolve) {
      var data = new FormData();
      data.append("tags", tags ? tags.value : "");
      data.append("file", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable) {
          view.bar.value = Math.round((event.loaded / event.total) * 100);
        }
      };
      xhr.onload = function () {
        view.bar.value = 100;
        view.status.textContent = message(xhr);
        view.li.className = xhr.status >= 200 && xhr.status < 300 ? "upload-ok" : "upload-refused";
        resolve();
      };
      xhr.onerror = function () {
        view.status.textContent = "the connection failed";
        view.li.className = "upload-refused";
        resolve();
      };
      view.status.textContent = "uploading";
      xhr.send(data);
    });
  }

  function upload(files) {
    if (!files || !files.length) {
      return;
    }
    list.textContent = "";
    var queue = Array.prototype.map.call(files, function (file) {
      return { file: file, view: row(file) };
    });
    // One at a time: the server holds one file in memory per request.
    var chain = Promise.resolve();
    var failed = false;
    queue.forEach(function (item) {
      chain = chain.then(function () {
        return send(item.file, item.view).then(function () {
          if (item.view.li.className !== "upload-ok") {
            failed = true;
          }
        });
      });
    });
    chain.then(function () {
      if (!failed) {
        window.location.reload();
      } else {
        var again = document.createElement("li");
        var link = document.createElement("a");
        link.href = "/media";
        link.textContent = "Show the library with the new files";
        again.appendChild(link);
        list.appendChild(again);
      }
    });
  }

  form.addEventListener("submit", function (event) {
    if (input.files && input.files.length) {
      event.preventDefault();
      upload(input.files);
    }
  });
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("drop-over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.remove("drop-over");
    });
  });
  zone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files) {
      upload(event.dataTransfer.files);
    }
  });
})();
