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
  // boxes of one name as a list.
  function body(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) return;
      var type = el.getAttribute('data-type');
      if (type === 'list') {
        out[el.name] = out[el.name] || [];
        if (el.checked) out[el.name].push(el.value);
        return;
      }
      if ((el.type === 'radio' || el.type === 'checkbox') && !el.checked) return;
      var value = el.value.trim();
      if (value === '') return;
      out[el.name] = type === 'number' ? Number(value) : value;
    });
    return out;
  }

  function say(form, text, ok) {
    var p = form.querySelector('[role=alert]');
    p.textContent = text;
    p.className = ok ? 'ok' : 'error';
    p.hidden = false;
    if (!ok) {
      p.setAttribute('tabindex', '-1');
      p.focus();
    }
  }

  function send(url, data) {
    return fetch(url, {
      method: 'POST',
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
  };

  function submit(form, confirmed) {
    var confirm = form.querySelector('.confirm');
    if (confirm && !confirmed) {
      confirm.hidden = false;
      confirm.querySelector('[data-confirm=yes]').focus();
      return;
    }
    var data = body(form);
    var button = form.querySelector('button[type=submit]');
    button.disabled = true;
    send(form.getAttribute('data-api'), data).then(function (answer) {
      if (confirm) confirm.hidden = true;
      var then = form.getAttribute('data-then');
      if (after[then]) return after[then](form, answer, data);
      location.assign(then);
    }).catch(function (e) {
      say(form, e.message, false);
    }).then(function () { button.disabled = false; });
  }

  // An invite's circle, read before joining: its name, format and guidelines, then a choice.
  function showPreview(form, circle, token) {
    var box = document.getElementById('join-preview');
    box.textContent = '';
    box.className = 'preview';
    var h = document.createElement('h3');
    h.textContent = circle.name;
    box.appendChild(h);
    var facts = document.createElement('p');
    facts.textContent = (circle.format ? 'Format: ' + circle.format + '. ' : '') +
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

  // Reloads what the page shows live (elements with data-live), keeping the rest as it is.
  function refresh() {
    return fetch(location.href, { credentials: 'same-origin' }).then(function (r) {
      return r.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, 'text/html');
      document.querySelectorAll('[data-live]').forEach(function (el) {
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
    document.querySelectorAll('form[data-api]').forEach(function (form) {
      form.addEventListener('submit', function (e) { e.preventDefault(); submit(form, false); });
      form.querySelectorAll('[data-confirm]').forEach(function (b) {
        b.addEventListener('click', function () {
          if (b.getAttribute('data-confirm') === 'yes') submit(form, true);
          else form.querySelector('.confirm').hidden = true;
        });
      });
    });
    askForNotifications();
    live();
  });
})();
