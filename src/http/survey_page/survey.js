// The hosted survey page's only script, and an optional one: it shows how many characters the
// comment box has left. The page works the same without it (the hint states the limit and the
// box refuses more). The visible count changes as the customer types; screen readers hear it
// once typing pauses, through a polite live region, instead of on every keystroke.
(function () {
  'use strict';
  var box = document.getElementById('comment');
  var count = document.getElementById('comment-count');
  var live = document.getElementById('comment-count-live');
  if (!box || !count || !live) return;
  var max = Number(box.getAttribute('maxlength'));
  var template = count.getAttribute('data-template') || '{n}';
  var language = document.documentElement.lang || 'en';
  var pause = null;
  function message() {
    var left = Math.max(0, max - box.value.length);
    return template.replace('{n}', left.toLocaleString(language));
  }
  count.textContent = message();
  count.hidden = false;
  box.addEventListener('input', function () {
    var text = message();
    count.textContent = text;
    window.clearTimeout(pause);
    pause = window.setTimeout(function () {
      live.textContent = text;
    }, 1000);
  });
})();
