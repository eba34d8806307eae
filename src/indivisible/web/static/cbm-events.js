// Tells a signed-in liaison officer or analyst of new items as they are committed, by
// server-sent events (/api/v1/cbm/events): CBM notifications and exchanges, and crisis
// steps. The list names the kinds it shows by its data-<kind> attributes, which hold the
// translated texts, so nothing user-facing is written here.
(function () {
  "use strict";
  var list = document.getElementById("cbm-live");
  if (!list || !window.EventSource) {
    return;
  }
  var source = new EventSource("/api/v1/cbm/events");
  var kinds = [];
  Array.prototype.forEach.call(list.attributes, function (attribute) {
    if (attribute.name.indexOf("data-") === 0) {
      kinds.push(attribute.name.slice(5));
    }
  });
  kinds.forEach(function (kind) {
    source.addEventListener(kind, function (message) {
      var event = JSON.parse(message.data);
      var template = list.getAttribute("data-" + kind) || kind;
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = event.kind.indexOf("crisis-") === 0
        ? "/crisis/" + event.subject_id
        : event.kind === "notification" || event.kind === "clarification" || event.kind === "answer"
          ? "/cbm/notifications/" + event.subject_id
          : "/cbm/compliance";
      link.textContent = template.replace("{state}", event.from_state || "").replace("{id}", String(event.subject_id));
      item.appendChild(link);
      list.insertBefore(item, list.firstChild);
      list.hidden = false;
    });
  });
})();
