// The Switchyard console's one script. Every page works without it; it only adds:
// - in the subscription editor, a live preview while typing (the form is posted to the
//   preview address, which answers with the preview alone, already escaped by the server),
//   and a redraw when a choice shows other inputs (a field's kind, the action);
// - on the events page, new events as they arrive (the list is fetched again every few
//   seconds while the page is visible).
// Text from the server is put in place as the server escaped it; nothing from an event is
// ever turned into markup here.
(function () {
  "use strict";

  function post(url, form) {
    var body = new URLSearchParams(new FormData(form));
    body.set("intent", "preview");
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (answer) {
      return answer.ok ? answer.text() : Promise.reject(answer.status);
    });
  }

  function editor(form) {
    var preview = document.getElementById("preview");
    var timer = null;
    var asked = 0;
    function refresh() {
      var mine = ++asked;
      post(form.dataset.preview, form).then(function (html) {
        if (mine !== asked) {
          return;
        }
        preview.innerHTML = html;
        var written = document.getElementById("trigger-written");
        var fresh = document.getElementById("preview-trigger-text");
        if (written && fresh) {
          written.textContent = fresh.textContent;
        }
        // Each field's problems go beside the field.
        form.querySelectorAll("[data-problems-of]").forEach(function (box) {
          var key = box.getAttribute("data-problems-of");
          box.textContent = "";
          preview.querySelectorAll("li[data-field]").forEach(function (item) {
            if (item.getAttribute("data-field") === key) {
              var line = document.createElement("p");
              line.className = "problem";
              line.textContent = item.querySelector(".text").textContent;
              box.appendChild(line);
            }
          });
          box.closest("fieldset").classList.toggle("has-problem", box.childElementCount > 0);
        });
        // Each field's value in the preview goes beside the field too.
        form.querySelectorAll("[data-mapped-of]").forEach(function (line) {
          var key = line.getAttribute("data-mapped-of");
          var value = "";
          preview.querySelectorAll("li[data-mapped]").forEach(function (item) {
            if (item.getAttribute("data-mapped") === key) {
              value = item.textContent;
            }
          });
          line.querySelector("code").textContent = value;
          line.hidden = value === "";
        });
        form.dispatchEvent(new CustomEvent("previewed"));
      }).catch(function () {
        // The next change asks again; the Preview button still works.
      });
    }
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target.matches("select[data-refresh]") || target.id === "sub-action") {
        form.requestSubmit(document.getElementById("refresh"));
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(refresh, 50);
    });
  }

  function events(list) {
    var url = list.dataset.poll;
    setInterval(function () {
      if (document.hidden) {
        return;
      }
      fetch(url, { credentials: "same-origin" }).then(function (answer) {
        return answer.ok ? answer.text() : Promise.reject(answer.status);
      }).then(function (html) {
        var parsed = new DOMParser().parseFromString(html, "text/html");
        var fresh = parsed.getElementById(list.id);
        if (!fresh) {
          return;
        }
        // Events whose details are open stay open.
        var open = {};
        list.querySelectorAll("li[data-id]").forEach(function (item) {
          var details = item.querySelector("details");
          if (details && details.open) {
            open[item.getAttribute("data-id")] = true;
          }
        });
        fresh = document.importNode(fresh, true);
        fresh.querySelectorAll("li[data-id]").forEach(function (item) {
          var details = item.querySelector("details");
          if (details && open[item.getAttribute("data-id")]) {
            details.open = true;
          }
        });
        list.replaceWith(fresh);
        list = fresh;
      }).catch(function () {});
    }, 3000);
  }

  var form = document.getElementById("editor");
  if (form) {
    editor(form);
  }
  var live = document.querySelector("[data-poll]");
  if (live) {
    events(live);
  }
})();
