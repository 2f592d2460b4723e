// amva explorer, comparisons view (`amva analyze --pairs`): every comparison of the
// pairs file with its similarity, outcome at the EDC's threshold and the quality groups
// of its two images; sortable, filterable by outcome and group. A click shows both
// faces and, for comparisons with pair maps (--pair-maps), each face's similar and
// dissimilar map; for the others, the `amva compare` command that maps them.
// Data: window.AMVA_EXPLORER.comparisons (explorer/data.js). Text is set with
// textContent only.
(function () {
  'use strict';
  var D = window.AMVA_EXPLORER, C = D.comparisons;
  if (!C) { return; }
  var MC = D.method_columns.length;
  var $ = function (id) { return document.getElementById(id); };
  var el = function (tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  };
  // Row: [a, b, mated, similarity, outcome, store row a, store row b, pair-map row, line].
  var R = C.rows, N = R.length;
  function groupOf(storeRow, mi) {
    if (storeRow < 0) { return 'unscored'; }
    var g = D.rows[storeRow][3 + mi * MC + 2];
    var list = g ? g.split(';') : [];
    var hi = list.indexOf('high') >= 0, lo = list.indexOf('low') >= 0;
    return hi && lo ? 'both' : hi ? 'high' : lo ? 'low' : D.rows[storeRow][3 + mi * MC] === null ? 'unscored' : 'middle';
  }
  var cols = [
    { label: 'image a', cls: 'c-id', get: function (r) { return R[r][0]; } },
    { label: 'image b', cls: 'c-id', get: function (r) { return R[r][1]; } },
    { label: 'label', cls: 'c-num', get: function (r) { return R[r][2] ? 'mated' : 'non-mated'; } },
    { label: 'similarity', cls: 'c-num', num: true, key: 'similarity', get: function (r) { return R[r][3]; } },
    { label: 'outcome', cls: 'c-grp', key: 'outcome', get: function (r) { return R[r][4]; } },
    { label: 'pair maps', cls: 'c-num', get: function (r) { return R[r][7] >= 0 ? 'yes' : ''; } }
  ];
  D.methods.forEach(function (m, mi) {
    cols.push({ label: m.name + ' groups (a, b)', cls: 'c-grp', key: m.key + '.groups',
      get: function (r) { return groupOf(R[r][5], mi) + ', ' + groupOf(R[r][6], mi); } });
  });
  var state = { sort: -1, desc: false, outcome: '', gm: 0, group: '' };
  var order = [], shown = {};

  function compute() {
    order = [];
    for (var r = 0; r < N; r++) {
      if (state.outcome !== '' && R[r][4] !== state.outcome) { continue; }
      if (state.group !== '' && groupOf(R[r][5], state.gm) !== state.group && groupOf(R[r][6], state.gm) !== state.group) { continue; }
      order.push(r);
    }
    if (state.sort >= 0) {
      var c = cols[state.sort], s = state.desc ? -1 : 1;
      order.sort(function (a, b) {
        var x = c.get(a), y = c.get(b);
        if (x !== y) { return (x < y ? -1 : 1) * s; }
        return a - b;
      });
    }
    $('ccount').textContent = order.length + ' of ' + N + ' comparisons; threshold ' + C.threshold.toPrecision(4) + ' (FMR ' + C.fmr + ')';
    var body = $('cbody');
    body.textContent = '';
    order.forEach(function (r) {
      var tr = el('tr');
      tr.dataset.row = r;
      if (r === shownRow) { tr.className = 'sel'; }
      cols.forEach(function (c) {
        var v = c.get(r);
        tr.appendChild(el('td', c.cls, typeof v === 'number' ? v.toPrecision(4) : String(v)));
      });
      body.appendChild(tr);
    });
  }

  var shownRow = -1;
  function pic(src, alt, label) {
    var p = el('div', 'pic'), img = el('img');
    img.src = src;
    img.alt = alt;
    img.style.width = '200px';
    p.appendChild(img);
    p.appendChild(el('div', '', label));
    return p;
  }
  function detail(r) {
    shownRow = r;
    Array.prototype.forEach.call($('cbody').children, function (tr) { tr.classList.toggle('sel', Number(tr.dataset.row) === r); });
    var d = $('cdetail'), c = R[r];
    d.textContent = '';
    d.appendChild(el('h2', '', c[0] + ' vs ' + c[1]));
    var t = el('table'), tb = el('tbody');
    var add = function (k, v) {
      var tr = el('tr');
      tr.appendChild(el('th', '', k));
      tr.appendChild(el('td', '', typeof v === 'number' ? v.toPrecision(6) : String(v)));
      tb.appendChild(tr);
    };
    add('pairs file line', c[8]);
    add('label', c[2] ? 'mated' : 'non-mated');
    add('cosine similarity', c[3]);
    add('threshold (FMR ' + C.fmr + ')', C.threshold);
    add('outcome', c[4]);
    D.methods.forEach(function (m, mi) { add(m.name + ' groups (a, b)', groupOf(c[5], mi) + ', ' + groupOf(c[6], mi)); });
    t.appendChild(tb);
    var pics = el('div', 'pics');
    [5, 6].forEach(function (k, i) {
      if (c[k] >= 0 && D.faces && window.amvaTile) {
        var p = el('div', 'pic');
        p.appendChild(window.amvaTile('face', c[k], 200));
        p.appendChild(el('div', '', 'face ' + 'ab'.charAt(i) + ': ' + c[i]));
        pics.appendChild(p);
      }
    });
    if (c[7] >= 0) {
      var src = D.dir + '/pairs/' + String(c[7]).padStart(5, '0') + '.jpg';
      C.kinds.forEach(function (k, i) {
        var p = el('div', 'pic'), box = el('div', 'tile'), img = el('img');
        box.style.width = '200px';
        box.style.height = Math.round(200 * D.tile[1] / D.tile[0]) + 'px';
        img.src = src;
        img.alt = k;
        img.style.width = (200 * C.kinds.length) + 'px';
        img.style.left = (-200 * i) + 'px';
        box.appendChild(img);
        p.appendChild(box);
        p.appendChild(el('div', '', k));
        pics.appendChild(p);
      });
      d.appendChild(pics);
      d.appendChild(el('p', '', 'Maps over the faces (0.5 x jet + face, 0-1). Arrays: ' + C.dir + '/ row ' + c[7] + ' (similar_full.npy, dissimilar_full.npy).'));
    } else {
      d.appendChild(pics);
      d.appendChild(el('p', '', 'No pair maps for this comparison (only failing ones, up to --pair-maps). To map it:'));
      d.appendChild(el('pre', 'cmd', C.command + ' --pair ' + c[0] + ' ' + c[1] + ' --out pair/'));
    }
    d.appendChild(t);
  }

  function header() {
    var h = $('chead');
    var tr = el('tr');
    cols.forEach(function (c, i) {
      var th = el('th', c.cls, c.label);
      th.dataset.col = c.key || c.label;
      th.addEventListener('click', function () {
        state.desc = state.sort === i ? !state.desc : false;
        state.sort = i;
        Array.prototype.forEach.call(tr.children, function (x) { x.classList.remove('sorted', 'desc'); });
        th.classList.add('sorted');
        if (state.desc) { th.classList.add('desc'); }
        compute();
      });
      tr.appendChild(th);
    });
    h.appendChild(tr);
  }

  function buttons(box, values, on, pick, attr) {
    box.textContent = '';
    values.forEach(function (v) {
      var b = el('button', v === on ? 'on' : '', v === '' ? 'all' : v);
      b.dataset[attr] = v;
      b.addEventListener('click', function () { pick(v); });
      box.appendChild(b);
    });
  }
  function outcomeButtons() {
    buttons($('obuttons'), ['', 'false non-match', 'false match', 'correct'], state.outcome,
      function (v) { state.outcome = v; outcomeButtons(); compute(); }, 'outcome');
  }
  function cgroupButtons() {
    buttons($('cgbuttons'), ['', 'high', 'low', 'both', 'middle', 'unscored'], state.group,
      function (v) { state.group = v; cgroupButtons(); compute(); }, 'group');
  }

  function mode(comparisons) {
    $('wrap').style.display = comparisons ? 'none' : '';
    $('imagecontrols').style.display = comparisons ? 'none' : '';
    $('cwrap').style.display = comparisons ? '' : 'none';
    $('ccontrols').style.display = comparisons ? '' : 'none';
    $('vimages').classList.toggle('on', !comparisons);
    $('vcomparisons').classList.toggle('on', comparisons);
  }

  function init() {
    $('views').style.display = '';
    header();
    var sel = $('cgmethod');
    D.methods.forEach(function (m, mi) {
      var o = el('option', '', m.name);
      o.value = String(mi);
      sel.appendChild(o);
    });
    sel.addEventListener('change', function () { state.gm = Number(sel.value); compute(); });
    outcomeButtons();
    cgroupButtons();
    $('vimages').addEventListener('click', function () { mode(false); });
    $('vcomparisons').addEventListener('click', function () { mode(true); });
    $('cbody').addEventListener('click', function (e) {
      var tr = e.target.closest('tr');
      if (tr) { detail(Number(tr.dataset.row)); }
    });
    compute();
    if (/comparisons/.test(window.location.hash)) { mode(true); }
    window.amvaComparisonOrder = function () { return order.map(function (r) { return R[r][0] + ' | ' + R[r][1]; }); };
    window.amvaComparisonsReady = performance.now();
  }
  init();
})();
