(function () {
  var words = JSON.parse(document.getElementById('report-texts').textContent);
  var map = document.getElementById('map');
  var box = document.getElementById('toggle-ties');
  var ties = document.getElementById('map-ties');
  function showTies() { ties.style.display = box.checked ? '' : 'none'; }
  box.addEventListener('change', showTies);
  var full = map.getAttribute('data-full-viewbox').split(' ').map(Number);
  var kmPerUnit = parseFloat(map.getAttribute('data-km-per-unit'));
  var steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
  function view(box) {
    var p = box.split(' ').map(Number), i;
    map.setAttribute('viewBox', box);
    // Zooming enlarges distances, not marks or labels: scale them back to screen size.
    var f = p[2] / full[2];
    var marks = map.querySelectorAll('circle[data-r]');
    for (i = 0; i < marks.length; i++) {
      marks[i].setAttribute('r', (parseFloat(marks[i].getAttribute('data-r')) * f).toFixed(3));
    }
    var texts = map.querySelectorAll('text[data-size]');
    for (i = 0; i < texts.length; i++) {
      texts[i].style.fontSize = (parseFloat(texts[i].getAttribute('data-size')) * f) + 'px';
    }
    var want = p[2] * kmPerUnit / 6, km = steps[steps.length - 1];
    for (i = 0; i < steps.length; i++) { if (steps[i] >= want * 0.6) { km = steps[i]; break; } }
    var len = km / kmPerUnit, x0 = p[0] + 16 * f, y0 = p[1] + p[3] - 14 * f;
    var line = map.querySelector('#map-scale line');
    var label = map.querySelector('#map-scale text');
    line.setAttribute('x1', x0); line.setAttribute('x2', x0 + len);
    line.setAttribute('y1', y0); line.setAttribute('y2', y0);
    label.setAttribute('x', x0 + len / 2); label.setAttribute('y', y0 - 6 * f);
    label.textContent = words.km.replace('{km}', km);
    map.setAttribute('data-scale-km', km);
  }
  var buttons = document.querySelectorAll('#map-zoom button');
  function pick(ev) {
    for (var j = 0; j < buttons.length; j++) { buttons[j].classList.remove('active'); }
    ev.currentTarget.classList.add('active');
    view(ev.currentTarget.getAttribute('data-viewbox'));
  }
  for (var b = 0; b < buttons.length; b++) { buttons[b].addEventListener('click', pick); }
  showTies();
  view(full.join(' '));
})();
