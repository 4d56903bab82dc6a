// robbench serve: the explorer's only script (embedded in the binary).
(function () {
  'use strict';
  // Filter forms: empty fields stay out of the URL.
  document.querySelectorAll('form.filter').forEach(function (form) {
    form.addEventListener('submit', function () {
      form.querySelectorAll('input').forEach(function (input) {
        if (input.value.trim() === '') input.disabled = true;
      });
    });
  });
  // Scatter plots: a point's cell and values next to the pointer.
  document.querySelectorAll('svg.scatter').forEach(function (svg) {
    var tip = svg.parentNode.querySelector('.tip');
    if (!tip) return;
    svg.addEventListener('mouseover', function (event) {
      var point = event.target.closest('circle.pt');
      if (!point) return;
      var title = point.querySelector('title');
      tip.textContent = title ? title.textContent : '';
      tip.hidden = false;
      point.classList.add('hover');
    });
    svg.addEventListener('mousemove', function (event) {
      // Beside the pointer, on its left where the right would leave the window.
      var box = svg.parentNode.getBoundingClientRect();
      var x = event.clientX - box.left + 14;
      if (event.clientX + 14 + tip.offsetWidth > document.documentElement.clientWidth) x -= tip.offsetWidth + 28;
      tip.style.left = Math.max(x, -box.left) + 'px';
      tip.style.top = (event.clientY - box.top + 14) + 'px';
    });
    svg.addEventListener('mouseout', function (event) {
      var point = event.target.closest('circle.pt');
      if (point) point.classList.remove('hover');
      tip.hidden = true;
    });
  });
  // The SQL box: Ctrl+Enter runs the query.
  var q = document.getElementById('q');
  if (q) {
    q.addEventListener('keydown', function (event) {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) q.form.submit();
    });
  }
})();
