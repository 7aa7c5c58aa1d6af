// Passkeys: the browser half of a WebAuthn ceremony (accounts.mfa_webauthn is the server's).
// A button with data-webauthn="register" or "authenticate" asks its data-options-url for the
// options (POST), hands them to navigator.credentials, posts the answer to data-verify-url as
// JSON and follows the "redirect" it gets back; an "error" is shown in the data-error element.
// A file of its own, no inline script, so a Content-Security-Policy without 'unsafe-inline' holds.
(function () {
  "use strict";

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    });
  }

  function run(button) {
    var errorBox = document.getElementById(button.getAttribute("data-error"));
    var register = button.getAttribute("data-webauthn") === "register";
    function fail(text) {
      button.disabled = false;
      if (errorBox) { errorBox.textContent = text || button.getAttribute("data-failed-text"); errorBox.hidden = false; }
    }
    if (!window.PublicKeyCredential) { fail(button.getAttribute("data-unsupported-text")); return; }
    button.disabled = true;
    if (errorBox) { errorBox.hidden = true; }
    post(button.getAttribute("data-options-url"))
      .then(function (answer) {
        if (!answer.ok) { throw new Error(answer.data.error || ""); }
        if (register) {
          var creation = PublicKeyCredential.parseCreationOptionsFromJSON(answer.data);
          return navigator.credentials.create({ publicKey: creation });
        }
        var request = PublicKeyCredential.parseRequestOptionsFromJSON(answer.data);
        return navigator.credentials.get({ publicKey: request });
      })
      .then(function (credential) {
        var nameInput = document.getElementById(button.getAttribute("data-name-input") || "");
        return post(button.getAttribute("data-verify-url"), {
          credential: credential.toJSON(),
          name: nameInput ? nameInput.value : "",
          next: button.getAttribute("data-next") || ""
        });
      })
      .then(function (answer) {
        if (answer.data.redirect) { window.location.assign(answer.data.redirect); return; }
        fail(answer.data.error);
      })
      .catch(function (error) { fail(error && error.message && error.name === "Error" ? error.message : ""); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button[data-webauthn]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener("click", run.bind(null, buttons[i]));
    }
  });
})();
