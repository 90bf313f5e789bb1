// "Use my position" on the test finder: the phone's position sorts the facilities by distance.
// Without script (or without permission) the facility picker does the same job.
(function () {
  const button = document.querySelector("[data-testid=use-position]");
  if (!button || !("geolocation" in navigator)) return;
  const form = button.form;
  const origin = form.querySelector(".ta-origin");
  button.hidden = false;
  button.addEventListener("click", () => {
    origin.textContent = button.dataset.locating;
    navigator.geolocation.getCurrentPosition((position) => {
      form.latitude.value = position.coords.latitude.toFixed(5);
      form.longitude.value = position.coords.longitude.toFixed(5);
      form.near_facility_id.value = "";
      form.submit();
    }, () => { origin.textContent = button.dataset.failed; }, { timeout: 10000, maximumAge: 600000 });
  });
})();
