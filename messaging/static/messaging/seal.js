/* Sealed messages, in the browser only (the formats: messaging/sealed.py).
 *
 * The passphrase never leaves this page: its inputs have no name, and what is sent is the
 * ciphertext. Key: PBKDF2-SHA256, 600,000 iterations, a random 16-byte salt per item (the text,
 * each file); cipher: AES-256-GCM with a random 12-byte IV per text and per file frame.
 *
 * Three pages use it:
 * - the message form (#seal-box): seal the text on submit; a sealed message is opened first;
 * - the message page (#attach-form[data-envelope]): a file of a sealed message is sealed before upload;
 * - the delivery page (#sealed-box): the recipient opens the text and the files.
 */
(function () {
  "use strict";

  var ITERATIONS = 600000;
  var CHUNK = 1024 * 1024;
  var TAG = 16;
  var IV = 12;
  var MAGIC = [0x43, 0x52, 0x44, 0x4c, 0x53, 0x46, 0x31, 0x00]; // "CRDLSF1\0"
  var HEADER = MAGIC.length + 16 + 4;
  var encoder = new TextEncoder();
  var decoder = new TextDecoder("utf-8", { fatal: true });
  var keys = new Map();

  function toBase64(bytes) {
    var out = "";
    for (var i = 0; i < bytes.length; i += 0x8000) {
      out += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(out);
  }

  function fromBase64(text) {
    var raw = atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function random(size) {
    return crypto.getRandomValues(new Uint8Array(size));
  }

  // One derivation per (passphrase, salt): a file's name and frames share the file's key.
  async function keyFor(passphrase, salt, iterations) {
    var id = iterations + ":" + toBase64(salt) + ":" + passphrase;
    if (!keys.has(id)) {
      var base = await crypto.subtle.importKey("raw", encoder.encode(passphrase), "PBKDF2", false, ["deriveKey"]);
      keys.set(
        id,
        await crypto.subtle.deriveKey(
          { name: "PBKDF2", hash: "SHA-256", salt: salt, iterations: iterations },
          base,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"]
        )
      );
    }
    return keys.get(id);
  }

  async function envelopeWith(key, salt, text) {
    var iv = random(IV);
    var ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: iv }, key, encoder.encode(text)));
    return JSON.stringify({
      v: 1, kdf: "PBKDF2-SHA256", iter: ITERATIONS, salt: toBase64(salt), iv: toBase64(iv), ct: toBase64(ct)
    });
  }

  async function sealText(passphrase, text) {
    var salt = random(16);
    return envelopeWith(await keyFor(passphrase, salt, ITERATIONS), salt, text);
  }

  // The text of an envelope; throws on a wrong passphrase (or a damaged envelope).
  async function openText(passphrase, envelope) {
    var data = JSON.parse(envelope);
    var key = await keyFor(passphrase, fromBase64(data.salt), data.iter);
    var plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(data.iv) }, key, fromBase64(data.ct));
    return decoder.decode(plain);
  }

  function frameData(index, last) {
    var aad = new Uint8Array(5);
    new DataView(aad.buffer).setUint32(0, index);
    aad[4] = last ? 1 : 0;
    return aad;
  }

  // The sealed file (a Blob of ciphertext frames) and its name's envelope, under one new salt.
  async function sealFile(passphrase, file) {
    var salt = random(16);
    var key = await keyFor(passphrase, salt, ITERATIONS);
    var header = new Uint8Array(HEADER);
    header.set(MAGIC, 0);
    header.set(salt, MAGIC.length);
    new DataView(header.buffer).setUint32(MAGIC.length + 16, ITERATIONS);
    var parts = [header];
    var frames = Math.floor(file.size / CHUNK) + 1; // the last one holds the rest, possibly nothing
    for (var i = 0; i < frames; i++) {
      var plain = await file.slice(i * CHUNK, Math.min(file.size, (i + 1) * CHUNK)).arrayBuffer();
      var iv = random(IV);
      var sealed = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv: iv, additionalData: frameData(i, i === frames - 1) }, key, plain
      );
      parts.push(iv, new Uint8Array(sealed));
    }
    return { blob: new Blob(parts, { type: "application/octet-stream" }), name: await envelopeWith(key, salt, file.name) };
  }

  // The plaintext of a sealed file as a Blob; throws on a wrong passphrase or damaged bytes.
  async function openFile(passphrase, buffer) {
    var bytes = new Uint8Array(buffer);
    for (var m = 0; m < MAGIC.length; m++) {
      if (bytes[m] !== MAGIC[m]) throw new Error("not a sealed file");
    }
    var salt = bytes.slice(MAGIC.length, MAGIC.length + 16);
    var iterations = new DataView(buffer).getUint32(MAGIC.length + 16);
    var key = await keyFor(passphrase, salt, iterations);
    var parts = [];
    var at = HEADER;
    for (var i = 0; ; i++) {
      var left = bytes.length - at;
      var last = left <= IV + CHUNK + TAG;
      var size = last ? left - IV : CHUNK + TAG;
      if (size < TAG) throw new Error("damaged");
      var iv = bytes.subarray(at, at + IV);
      var frame = bytes.subarray(at + IV, at + IV + size);
      parts.push(
        await crypto.subtle.decrypt({ name: "AES-GCM", iv: iv, additionalData: frameData(i, last) }, key, frame)
      );
      at += IV + size;
      if (last) break;
    }
    return new Blob(parts);
  }

  function say(node, text) {
    node.textContent = text;
  }

  function canSeal() {
    return !!(window.crypto && crypto.subtle);
  }

  // --- the message form -------------------------------------------------------------------
  function messageForm(box) {
    var form = box.closest("form");
    var sealedBox = form.querySelector("#id_sealed");
    var text = form.querySelector("#id_content");
    var hidden = form.querySelector("#id_seal_envelope");
    var hint = form.querySelector("#id_seal_hint");
    var pass = box.querySelector("#seal-pass");
    var pass2 = box.querySelector("#seal-pass2");
    var openButton = box.querySelector("#seal-open");
    var status = box.querySelector("#seal-status");
    var envelope = box.dataset.envelope;
    var opened = !envelope;
    var openedWith = null;

    function sync() {
      var wanted = sealedBox.checked || !opened;
      box.querySelector("#seal-pass-row").hidden = !wanted;
      box.querySelector("#seal-pass2-row").hidden = !wanted || !!envelope;
      openButton.hidden = opened;
      hint.closest("p").hidden = !sealedBox.checked;
    }

    async function open() {
      say(status, box.dataset.working);
      try {
        text.value = await openText(pass.value, envelope);
      } catch (err) {
        say(status, box.dataset.wrong);
        return;
      }
      opened = true;
      openedWith = pass.value;
      text.readOnly = false;
      say(status, "");
      sync();
    }

    if (!opened) text.readOnly = true; // filled in by "Open the message"
    openButton.addEventListener("click", open);
    pass.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !opened) {
        event.preventDefault();
        open();
      }
    });
    sealedBox.addEventListener("change", sync);
    sync();

    form.addEventListener("submit", async function (event) {
      if (!opened) {
        event.preventDefault();
        say(status, box.dataset.notOpen);
        pass.focus();
        return;
      }
      if (!sealedBox.checked) {
        hidden.value = "";
        return;
      }
      event.preventDefault();
      if (!canSeal()) return say(status, box.dataset.noCrypto);
      var passphrase = envelope ? openedWith : pass.value;
      if (!envelope) {
        if (passphrase.length < 10) return say(status, box.dataset.short);
        if (passphrase !== pass2.value) return say(status, box.dataset.mismatch);
      }
      if (!hint.value.trim()) return say(status, box.dataset.noHint);
      if (hint.value.toLowerCase().indexOf(passphrase.toLowerCase()) !== -1) return say(status, box.dataset.inHint);
      say(status, box.dataset.working);
      hidden.value = await sealText(passphrase, text.value);
      text.value = ""; // the text never leaves the browser in clear
      form.submit();
    });
  }

  // --- a file for a sealed message, on the message's page -----------------------------------
  function attachForm(form) {
    var status = form.querySelector("#attach-status");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var file = form.querySelector("#id_file").files[0];
      var passphrase = form.querySelector("#attach-pass").value;
      if (!file) return;
      if (!canSeal()) return say(status, form.dataset.noCrypto);
      say(status, form.dataset.working);
      try {
        await openText(passphrase, form.dataset.envelope); // the message's own: a typo must not seal the file
      } catch (err) {
        return say(status, form.dataset.wrong);
      }
      var sealed = await sealFile(passphrase, file);
      var body = new FormData();
      body.append("csrfmiddlewaretoken", form.elements.csrfmiddlewaretoken.value);
      body.append("file", sealed.blob, "sealed.bin");
      body.append("sealed_name", sealed.name);
      try {
        await fetch(form.action, { method: "POST", body: body, credentials: "same-origin", redirect: "manual" });
      } catch (err) {
        return say(status, form.dataset.failed);
      }
      window.location.reload(); // the page says how it went
    });
  }

  // --- the recipient's delivery page ---------------------------------------------------------
  function deliveryPage(box) {
    var form = box.querySelector("#seal-open-form");
    var status = box.querySelector("#seal-status");
    var opened = null;

    async function download(link) {
      say(status, box.dataset.working);
      try {
        var response = await fetch(link.href, { credentials: "same-origin" });
        if (!response.ok) throw new Error("HTTP " + response.status);
        var blob = await openFile(opened, await response.arrayBuffer());
      } catch (err) {
        return say(status, box.dataset.fileFailed);
      }
      say(status, "");
      var url = URL.createObjectURL(blob);
      var save = document.createElement("a");
      save.href = url;
      save.download = link.dataset.realName;
      document.body.appendChild(save);
      save.click();
      save.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    }

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (!canSeal()) return say(status, box.dataset.noCrypto);
      var passphrase = form.querySelector("#seal-pass").value;
      say(status, box.dataset.working);
      var text;
      try {
        text = await openText(passphrase, box.dataset.envelope);
      } catch (err) {
        return say(status, box.dataset.wrong);
      }
      opened = passphrase;
      var place = document.getElementById("message-text");
      place.textContent = text;
      place.hidden = false;
      var links = document.querySelectorAll("#files a[data-sealed-name]");
      for (var i = 0; i < links.length; i++) {
        try {
          links[i].dataset.realName = await openText(passphrase, links[i].dataset.sealedName);
          links[i].textContent = links[i].dataset.realName;
        } catch (err) {
          links[i].dataset.realName = links[i].textContent;
        }
      }
      say(status, "");
      box.querySelector("#seal-opened").hidden = false;
      form.hidden = true;
    });

    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("#files a[data-sealed-name]");
      if (!link || opened === null) return;
      event.preventDefault();
      download(link);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("seal-box");
    if (box) messageForm(box);
    var attach = document.querySelector("#attach-form[data-envelope]");
    if (attach) attachForm(attach);
    var delivered = document.getElementById("sealed-box");
    if (delivered) deliveryPage(delivered);
  });
})();
