// The time zone picker (accounts.widgets.TimeZoneSelect): on sign-up the browser's zone is
// chosen for the person, and a search box narrows the long list. A static file, not an
// inline script: the pages' CSP allows only 'self' scripts. Without JavaScript the select
// works as it is (UTC chosen, the search box stays hidden).
(function () {
  // Names ICU (Chromium, Firefox) still reports for some places, mapped to the canonical
  // zones the list holds (tzdata's "backward" links).
  const ALIASES = {
    "Asia/Calcutta": "Asia/Kolkata", "Asia/Saigon": "Asia/Ho_Chi_Minh", "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon", "Europe/Kiev": "Europe/Kyiv", "Atlantic/Faeroe": "Atlantic/Faroe",
    "America/Godthab": "America/Nuuk", "Pacific/Truk": "Pacific/Chuuk", "Pacific/Ponape": "Pacific/Pohnpei",
    "Pacific/Enderbury": "Pacific/Kanton", "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Indianapolis": "America/Indiana/Indianapolis", "America/Louisville": "America/Kentucky/Louisville",
    "Asia/Dacca": "Asia/Dhaka", "Asia/Ulan_Bator": "Asia/Ulaanbaatar", "Etc/UTC": "UTC", "Etc/GMT": "UTC",
    "Asia/Chongqing": "Asia/Shanghai", "Asia/Harbin": "Asia/Shanghai", "Asia/Macao": "Asia/Macau",
  };

  function browserZone() {
    try {
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
      return ALIASES[zone] || zone;
    } catch (error) {
      return "";
    }
  }

  function has(select, value) {
    return Array.prototype.some.call(select.options, (option) => option.value === value);
  }

  function narrow(select, text) {
    const words = text.trim().toLowerCase();
    const joined = words.replace(/ /g, "_");
    let first = null;
    select.querySelectorAll("optgroup").forEach((group) => {
      let shown = 0;
      group.querySelectorAll("option").forEach((option) => {
        const match = !words || option.value.toLowerCase().includes(joined) ||
          option.text.toLowerCase().includes(words) || group.label.toLowerCase().includes(words);
        option.hidden = !match;
        if (match) {
          shown += 1;
          first = first || option;
        }
      });
      group.hidden = shown === 0;
    });
    const chosen = select.selectedOptions[0];
    if (first && (!chosen || chosen.hidden)) select.value = first.value;
  }

  document.querySelectorAll("select[data-time-zone]").forEach((select) => {
    if (select.dataset.fromBrowser === "1") {
      const zone = browserZone();
      if (zone && has(select, zone)) select.value = zone;
    }
    const filter = document.getElementById(select.id + "_filter");
    if (filter) {
      filter.hidden = false;
      filter.addEventListener("input", () => narrow(select, filter.value));
    }
  });
})();
