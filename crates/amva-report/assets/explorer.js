// amva explorer: every analysed image in one table (see amva-analysis, analyze/explorer.rs).
// Data: window.AMVA_EXPLORER from explorer/data.js. Only the rows in view are built
// (virtual scrolling), so only their sprite sheets load. Text from the data is always
// set with textContent, never parsed as HTML.
(function () {
  'use strict';
  var D = window.AMVA_EXPLORER;
  var ROW = 60, THUMB = 56, PIC = 200, SIDE = D.sheet_side;
  var TW = D.tile[0], TH = D.tile[1];
  var MC = D.method_columns.length;
  var N = D.rows.length;
  var $ = function (id) { return document.getElementById(id); };
  var el = function (tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  };
  function fmt(v) {
    if (v === null || v === undefined) { return ''; }
    if (typeof v !== 'number') { return String(v); }
    if (Number.isInteger(v)) { return String(v); }
    return v.toPrecision(4);
  }

  // Columns: [label, class, value of row r, numeric].
  var cols = (D.faces ? [{ label: 'face', cls: 'c-img', kind: 'face' }] : []).concat([
    { label: 'map', cls: 'c-img', kind: 'map' },
    { label: 'image', cls: 'c-id', get: function (r) { return D.rows[r][0]; }, num: false },
    { label: 'typicality', cls: 'c-num', get: function (r) { return D.rows[r][1]; }, num: true }
  ]);
  if (D.labels) {
    cols.push({
      label: 'label (--groups)', cls: 'c-grp', num: false, key: 'label',
      get: function (r) { var i = D.labels.of_row[r]; return i < 0 ? '' : D.labels.names[i]; }
    });
  }
  var show = { score: 'score', rank: 'rank', group: 'group', mean_abs_deviation: 'mean |dev|', outside_share: 'outside share', mean_abs_z: 'mean |z|' };
  D.methods.forEach(function (m, mi) {
    D.method_columns.forEach(function (c, ci) {
      if (!show[c]) { return; }
      var at = 3 + mi * MC + ci;
      cols.push({
        label: m.name + ' ' + show[c], cls: c === 'group' ? 'c-grp' : 'c-num',
        get: function (r) { return D.rows[r][at]; }, num: c !== 'group', key: m.key + '.' + c
      });
    });
  });

  var state = { sort: -1, desc: false, text: '', gm: 0, group: '', label: -2 };
  var order = [];

  function inGroup(r) {
    if (state.group === '') { return true; }
    var g = D.rows[r][3 + state.gm * MC + 2];
    var list = g ? g.split(';') : [];
    return state.group === '(none)' ? list.length === 0 : list.indexOf(state.group) >= 0;
  }

  function compute() {
    var t = state.text.toLowerCase();
    order = [];
    for (var r = 0; r < N; r++) {
      var lab = state.label === -2 || (D.labels && D.labels.of_row[r] === state.label);
      if ((t === '' || D.rows[r][0].toLowerCase().indexOf(t) >= 0) && inGroup(r) && lab) { order.push(r); }
    }
    if (state.sort >= 0) {
      var c = cols[state.sort], s = state.desc ? -1 : 1;
      order.sort(function (a, b) {
        var x = c.get(a), y = c.get(b);
        var xn = x === null || x === undefined || x === '', yn = y === null || y === undefined || y === '';
        if (xn !== yn) { return xn ? 1 : -1; }
        if (!xn && x !== y) { return (x < y ? -1 : 1) * s; }
        var ia = D.rows[a][0], ib = D.rows[b][0];
        return ia < ib ? -1 : ia > ib ? 1 : 0;
      });
    }
    $('count').textContent = order.length + ' of ' + N + ' images';
    $('spacer').style.height = (order.length * ROW) + 'px';
    render(true);
  }

  // A tile of sprite sheet `kind` for store row r, shown `size` pixels wide.
  function tile(kind, r, size) {
    var sheet = Math.floor(r / (SIDE * SIDE)), cell = r % (SIDE * SIDE);
    var count = Math.min(SIDE * SIDE, N - sheet * SIDE * SIDE);
    var ncols = count > SIDE ? SIDE : count, nrows = Math.ceil(count / SIDE);
    var k = size / TW, hgt = Math.round(TH * k);
    var box = el('div', 'tile');
    box.style.width = size + 'px';
    box.style.height = hgt + 'px';
    var img = el('img');
    img.alt = kind + ' of ' + D.rows[r][0];
    img.style.width = (ncols * TW * k) + 'px';
    img.style.height = (nrows * TH * k) + 'px';
    img.style.left = (-(cell % SIDE) * TW * k) + 'px';
    img.style.top = (-Math.floor(cell / SIDE) * TH * k) + 'px';
    img.src = D.dir + '/' + kind + '_' + String(sheet).padStart(3, '0') + '.jpg';
    box.appendChild(img);
    return box;
  }

  var built = {};
  function render(all) {
    var box = $('table'), spacer = $('spacer');
    if (all) { spacer.textContent = ''; built = {}; }
    var first = Math.max(0, Math.floor(box.scrollTop / ROW) - 5);
    var last = Math.min(order.length, Math.ceil((box.scrollTop + box.clientHeight) / ROW) + 5);
    Object.keys(built).forEach(function (i) {
      if (i < first || i >= last) { spacer.removeChild(built[i]); delete built[i]; }
    });
    for (var i = first; i < last; i++) {
      if (built[i]) { continue; }
      var r = order[i], row = el('div', 'row');
      row.style.top = (i * ROW) + 'px';
      row.dataset.row = r;
      row.dataset.id = D.rows[r][0];
      if (r === selected) { row.classList.add('sel'); }
      cols.forEach(function (c) {
        if (c.kind) {
          var cell = el('div', 'cell ' + c.cls);
          cell.appendChild(tile(c.kind, r, THUMB));
          row.appendChild(cell);
        } else {
          var v = c.get(r);
          row.appendChild(el('div', 'cell ' + c.cls, fmt(v)));
        }
      });
      spacer.appendChild(row);
      built[i] = row;
    }
  }

  var selected = -1;
  function detail(r) {
    selected = r;
    Object.keys(built).forEach(function (i) {
      built[i].classList.toggle('sel', Number(built[i].dataset.row) === r);
    });
    var d = $('detail');
    d.textContent = '';
    d.appendChild(el('h2', '', D.rows[r][0]));
    var t = el('table'), tb = el('tbody');
    var add = function (k, v) {
      var tr = el('tr');
      tr.appendChild(el('th', '', k));
      tr.appendChild(el('td', '', fmt(v)));
      tb.appendChild(tr);
    };
    add('store row', r);
    add('typicality (mean |z| vs all maps)', D.rows[r][1]);
    add('flat map', D.rows[r][2] ? 'yes' : 'no');
    if (D.labels) { add('label (--groups)', D.labels.of_row[r] < 0 ? '' : D.labels.names[D.labels.of_row[r]]); }
    D.methods.forEach(function (m, mi) {
      D.method_columns.forEach(function (c, ci) {
        add(m.name + ' ' + c, D.rows[r][3 + mi * MC + ci]);
      });
    });
    t.appendChild(tb);
    var pics = el('div', 'pics');
    D.kinds.forEach(function (k) {
      if (k.key === 'face' && !D.faces) { return; }
      var p = el('div', 'pic');
      p.appendChild(tile(k.key, r, PIC));
      p.appendChild(el('div', '', k.label));
      if (k.key !== 'face') {
        var bar = el('div', 'bar'), img = el('img', 'cb');
        img.src = D.dir + '/jet.png';
        img.alt = 'jet colour bar';
        var z = k.key.charAt(0) === 'z';
        bar.appendChild(el('span', '', z ? '-' + D.z_range : '0'));
        bar.appendChild(el('span', '', z ? '0' : '0.5'));
        bar.appendChild(el('span', '', z ? '+' + D.z_range : '1'));
        p.appendChild(img);
        p.appendChild(bar);
      }
      pics.appendChild(p);
    });
    d.appendChild(pics);
    d.appendChild(el('p', '', 'Numbers: images.csv, row ' + r + '. Deviation and z-map are against each method\'s high-quality group, as `amva explain` computes them.'));
    d.appendChild(t);
  }

  function header() {
    var h = $('head');
    cols.forEach(function (c, i) {
      var e = el('div', 'cell ' + c.cls, c.label);
      e.dataset.col = c.key || c.label;
      e.title = c.kind ? '' : 'click to sort';
      if (!c.kind) {
        e.addEventListener('click', function () {
          state.desc = state.sort === i ? !state.desc : false;
          state.sort = i;
          Array.prototype.forEach.call(h.children, function (x) { x.classList.remove('sorted', 'desc'); });
          e.classList.add('sorted');
          if (state.desc) { e.classList.add('desc'); }
          compute();
        });
      }
      h.appendChild(e);
    });
  }

  function groupButtons() {
    var box = $('gbuttons'), m = D.methods[state.gm];
    box.textContent = '';
    [''].concat(m.groups, ['(none)']).forEach(function (g) {
      var b = el('button', g === state.group ? 'on' : '', g === '' ? 'all' : g);
      b.dataset.group = g;
      b.addEventListener('click', function () { state.group = g; groupButtons(); compute(); });
      box.appendChild(b);
    });
  }

  function labelButtons() {
    var box = $('lbuttons');
    if (!D.labels) { return; }
    box.textContent = '';
    box.appendChild(el('span', '', 'label: '));
    [-2].concat(D.labels.names.map(function (_, i) { return i; })).forEach(function (i) {
      var b = el('button', i === state.label ? 'on' : '', i === -2 ? 'all' : D.labels.names[i]);
      b.dataset.label = String(i);
      b.addEventListener('click', function () { state.label = i; labelButtons(); compute(); });
      box.appendChild(b);
    });
  }

  function init() {
    labelButtons();
    header();
    var sel = $('gmethod');
    D.methods.forEach(function (m, mi) {
      var o = el('option', '', m.name);
      o.value = String(mi);
      sel.appendChild(o);
    });
    sel.addEventListener('change', function () { state.gm = Number(sel.value); state.group = ''; groupButtons(); compute(); });
    groupButtons();
    $('filter').addEventListener('input', function (e) { state.text = e.target.value; compute(); });
    $('table').addEventListener('scroll', function () { render(false); });
    $('spacer').addEventListener('click', function (e) {
      var row = e.target.closest('.row');
      if (row) { detail(Number(row.dataset.row)); }
    });
    compute();
    // explorer.html#row=N opens the detail of store row N (a link to one image).
    var m = /row=(\d+)/.exec(window.location.hash);
    if (m && Number(m[1]) < N) { detail(Number(m[1])); }
    // For tests and the benchmark: the current order, and when the table became usable.
    window.amvaTile = tile;
    window.amvaOrder = function () { return order.map(function (r) { return D.rows[r][0]; }); };
    window.amvaReady = performance.now();
  }
  init();
})();
