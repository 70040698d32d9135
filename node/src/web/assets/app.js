// circle's page script: sends forms to the node's JSON API, shows times in this browser's own
// time zone, keeps the page live from the node's event stream, and raises notifications the
// person allowed. Served by the node itself; it loads nothing from anywhere else.
'use strict';

(function () {
  // Times arrive in UTC; show them in this browser's zone.
  function localTimes(root) {
    root.querySelectorAll('time[datetime]').forEach(function (t) {
      var d = new Date(t.getAttribute('datetime'));
      if (!isNaN(d)) {
        t.textContent = d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
      }
    });
  }

  // A form's fields as the API's JSON: empty fields left out, numbers as numbers, ticked
  // boxes of one name as a list, a text of lines as a list, a `bool` box as true or false;
  // of buttons with a name, only the one pressed.
  function body(form, pressed) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) return;
      if (el.tagName === 'BUTTON') {
        if (el === pressed) out[el.name] = el.value;
        return;
      }
      var type = el.getAttribute('data-type');
      if (type === 'bool') {
        out[el.name] = el.checked;
        return;
      }
      if (type === 'list') {
        out[el.name] = out[el.name] || [];
        if (el.checked) out[el.name].push(el.value);
        return;
      }
      if (type === 'lines') {
        var lines = el.value.split('\n').map(function (l) { return l.trim(); }).filter(Boolean);
        if (lines.length) out[el.name] = lines;
        return;
      }
      if ((el.type === 'radio' || el.type === 'checkbox') && !el.checked) return;
      var value = el.value.trim();
      if (value === '') return;
      out[el.name] = type === 'number' ? Number(value) : value;
    });
    return out;
  }

  // Shows a form's answer beside it; a refusal takes the focus (or gives it to `field`).
  function say(form, text, ok, field) {
    var p = form.querySelector('[role=alert]');
    p.textContent = text;
    p.className = ok ? 'ok' : 'error';
    p.hidden = false;
    if (!ok) {
      p.setAttribute('tabindex', '-1');
      (field || p).focus();
    }
  }

  function quiet(form) {
    form.querySelector('[role=alert]').hidden = true;
  }

  // The first required field left empty (a radio group with nothing chosen counts), or number
  // out of its range, with what to do about it: the person is told in plain words before
  // anything is sent.
  function missing(form) {
    var numbers = form.querySelectorAll('input[type=number]');
    for (var n = 0; n < numbers.length; n++) {
      var box = numbers[n];
      if (!box.checkValidity()) {
        var name = box.labels.length ? box.labels[0].textContent.split(',')[0] : 'This';
        return { el: box, say: name + ': use a whole number from ' + box.min + ' to ' + box.max + '.' };
      }
    }

    var required = form.querySelectorAll('[required]');
    for (var i = 0; i < required.length; i++) {
      var el = required[i];
      var empty = el.type === 'radio'
        ? !form.querySelector('input[type=radio][name="' + el.name + '"]:checked')
        : el.value.trim() === '';
      if (empty) return { el: el, say: el.getAttribute('data-missing') || 'Please fill this in first.' };
    }
    return null;
  }

  function send(url, data, method) {
    return fetch(url, {
      method: method || 'POST',
      headers: { 'content-type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(data),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (answer) {
        if (!r.ok) throw new Error(answer.error || 'the node refused it (' + r.status + ')');
        return answer;
      });
    });
  }

  // What to do once a form's write is done.
  var after = {
    reload: function (form) { form.reset(); return refresh(); },
    circle: function (form, answer) { location.assign('/c/' + answer.id); },
    preview: function (form, answer, sent) { showPreview(form, answer, sent.token); },
    invite: function (form, answer, sent) { showInvite(answer, sent); return refresh(); },
  };

  function submit(form, confirmed, pressed) {
    var wrong = missing(form);
    if (wrong) {
      say(form, wrong.say, false, wrong.el);
      return;
    }
    var confirm = form.querySelector('.confirm');
    var button = form.querySelector('button[type=submit]');
    if (confirm && !confirmed) {
      // One question at a time: the confirmation takes the submit button's place.
      quiet(form);
      confirm.hidden = false;
      button.hidden = true;
      confirm.querySelector('[data-confirm=yes]').focus();
      return;
    }
    var data = body(form, pressed);
    button.disabled = true;
    send(form.getAttribute('data-api'), data, form.getAttribute('data-method')).then(function (answer) {
      if (confirm) confirm.hidden = true;
      button.hidden = false;
      quiet(form);
      var then = form.getAttribute('data-then');
      var done = form.getAttribute('data-done');
      if (after[then]) {
        return Promise.resolve(after[then](form, answer, data)).then(function () {
          if (done) say(form, done, true);
        });
      }
      location.assign(then);
    }).catch(function (e) {
      say(form, e.message, false);
    }).then(function () { button.disabled = false; });
  }

  var FORMATS = {
    '12-step': '12-step', smart: 'SMART Recovery', dharma: 'Recovery Dharma',
    secular: 'Secular', other: 'Other',
  };

  // An invite's circle, read before joining: its name, format and guidelines, then a choice.
  function showPreview(form, circle, token) {
    var box = document.getElementById('join-preview');
    box.textContent = '';
    box.className = 'preview';
    var h = document.createElement('h3');
    h.textContent = circle.name;
    box.appendChild(h);
    var facts = document.createElement('p');
    facts.textContent = (circle.format ? 'Format: ' + (FORMATS[circle.format] || circle.format) + '. ' : '') +
      circle.members + (circle.members === 1 ? ' member.' : ' members.');
    box.appendChild(facts);
    var g = document.createElement('p');
    g.style.whiteSpace = 'pre-wrap';
    g.textContent = circle.guidelines || 'This circle has no written guidelines.';
    box.appendChild(g);
    var join = document.createElement('button');
    join.type = 'button';
    join.textContent = 'I have read this: join ' + circle.name;
    join.addEventListener('click', function () {
      join.disabled = true;
      send('/v1/join', { token: token }).then(function (answer) {
        location.assign('/c/' + answer.id);
      }).catch(function (e) { say(form, e.message, false); join.disabled = false; });
    });
    box.appendChild(join);
    box.hidden = false;
    h.setAttribute('tabindex', '-1');
    h.focus();
  }

  // A new invite, to show or send: its QR code (drawn by the node), its text with a Copy
  // button, and how long and for how many it works, in words.
  function showInvite(answer, sent) {
    var box = document.getElementById('invite-made');
    var qr = document.getElementById('invite-qr');
    qr.src = qr.getAttribute('data-src') + encodeURIComponent(answer.token);
    document.getElementById('invite-text').value = answer.token;
    var until = new Date(answer.expires_at * 1000).toLocaleString([], { dateStyle: 'full', timeStyle: 'short' });
    var people = sent.uses === 1 ? 'one person' : sent.uses + ' people';
    document.getElementById('invite-facts').textContent =
      'It lets in ' + people + ', until ' + until + '.';
    document.getElementById('invite-copied').textContent = '';
    box.hidden = false;
    var h = box.querySelector('h2');
    h.setAttribute('tabindex', '-1');
    h.focus();
  }

  // Buttons with data-copy copy the text of the field it names, and say so.
  function copy(button) {
    var field = document.getElementById(button.getAttribute('data-copy'));
    var said = document.getElementById(button.getAttribute('data-said'));
    var done = function () { said.textContent = 'Copied.'; };
    var select = function () {
      field.select();
      try { document.execCommand('copy'); done(); } catch (e) { said.textContent = 'Select the text and copy it.'; }
    };
    if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, select);
    else select();
  }

  // Whether someone is writing in a part of the page (an open reply box),
  // or is being asked to confirm something (a refresh would hide the question).
  function writing(el) {
    if (el.querySelector('.confirm:not([hidden])')) return true;
    return Array.prototype.some.call(el.querySelectorAll('textarea'), function (t) {
      return t.value.trim() !== '';
    });
  }

  // Reloads what the page shows live (elements with data-live), keeping the rest as it is.
  function refresh() {
    return fetch(location.href, { credentials: 'same-origin' }).then(function (r) {
      return r.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, 'text/html');
      document.querySelectorAll('[data-live]').forEach(function (el) {
        // Words being written (a reply in the feed) are not swept away by someone else's news.
        if (writing(el)) return;
        var next = fresh.getElementById(el.id);
        if (next) {
          el.replaceWith(next);
          localTimes(next);
        }
      });
    });
  }

  // Notifications name neither the circle nor the person, like the desktop ones.
  function notify(event) {
    var text = {
      'reach-out': 'Someone in one of your circles is reaching out.',
      'reminder': 'A meeting of one of your circles starts soon.',
      'missed-checkin': 'Your accountability partner missed their usual check-in.',
    }[event.type];
    if (event.type === 'message' && event.kind === 'dm') text = 'You have a private message.';
    if (!text) return;
    unread += 1;
    showUnread();
    if (window.Notification && Notification.permission === 'granted') {
      new Notification('circle', { body: text, tag: event.id || event.type });
    }
  }

  var unread = 0;
  var title = document.title;
  function showUnread() {
    document.title = unread > 0 && document.hidden ? '(' + unread + ') ' + title : title;
  }
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden) unread = 0;
    showUnread();
  });

  function live() {
    if (!window.EventSource) return;
    var source = new EventSource('/app/events');
    source.onmessage = function (m) {
      var event;
      try { event = JSON.parse(m.data); } catch (e) { return; }
      if (event.type === 'changed') { refresh(); return; }
      notify(event);
    };
  }

  function askForNotifications() {
    var ask = document.getElementById('notify-ask');
    if (!ask || !window.Notification || Notification.permission !== 'default') return;
    if (localStorage.getItem('circle-notify-asked')) return;
    ask.hidden = false;
    document.getElementById('notify-button').addEventListener('click', function () {
      localStorage.setItem('circle-notify-asked', '1');
      Notification.requestPermission().then(function () { ask.hidden = true; });
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    localTimes(document);
    // Fields that start with this browser's own time zone.
    document.querySelectorAll('input[data-default=timezone]').forEach(function (el) {
      if (!el.value) el.value = Intl.DateTimeFormat().resolvedOptions().timeZone || '';
    });
    // Listened for on the document, so forms inside live parts keep working once refreshed.
    document.addEventListener('submit', function (e) {
      var form = e.target.closest('form[data-api]');
      if (!form) return;
      e.preventDefault();
      submit(form, false, e.submitter);
    });
    document.addEventListener('click', function (e) {
      var b = e.target.closest('[data-confirm]');
      var form = b && b.closest('form[data-api]');
      if (!form) return;
      if (b.getAttribute('data-confirm') === 'yes') return submit(form, true);
      form.querySelector('.confirm').hidden = true;
      var button = form.querySelector('button[type=submit]');
      button.hidden = false;
      button.focus();
    });
    document.addEventListener('click', function (e) {
      var b = e.target.closest('button[data-copy]');
      if (b) copy(b);
    });
    askForNotifications();
    live();
  });
})();
