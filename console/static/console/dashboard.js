// Draws the dashboard's chart: each day's volume per kind, for the currency chosen above it.
// The figures come from the page (json_script "dashboard-chart"), amounts as decimal strings.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-chart");
  var canvas = document.getElementById("volume-chart");
  var picker = document.getElementById("chart-currency");
  if (!source || !canvas || !picker || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var colours = ["#2e7d32", "#c62828", "#1565c0", "#6a1b9a"];
  var chart = null;

  function draw(currency) {
    var series = data.currencies[currency] || [];
    var datasets = data.kinds.map(function (kind, index) {
      return {
        label: kind,
        data: (series[index] || []).map(Number),
        backgroundColor: colours[index % colours.length],
      };
    });
    if (chart) {
      chart.destroy();
    }
    chart = new Chart(canvas, {
      type: "bar",
      data: { labels: data.days, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: true },
          y: { stacked: true, title: { display: true, text: "volume (" + currency + ")" } },
        },
      },
    });
    canvas.setAttribute("data-drawn", currency);
  }

  picker.addEventListener("change", function () {
    draw(picker.value);
  });
  if (picker.value) {
    draw(picker.value);
  }
})();
