// The hosted survey page's only script, and an optional one: the page works the same without
// it. It adds two conveniences:
// - a count of the characters the comment box has left (the hint states the limit and the box
//   refuses more anyway). The visible count changes as the customer types; screen readers
//   hear it once typing pauses, through a polite live region, instead of on every keystroke;
// - a link in the error summary shows its question and moves the focus into the field, not
//   only the scroll position.
(function () {
  'use strict';
  var box = document.getElementById('comment');
  var count = document.getElementById('comment-count');
  var live = document.getElementById('comment-count-live');
  if (box && count && live) {
    var max = Number(box.getAttribute('maxlength'));
    var template = count.getAttribute('data-template') || '{n}';
    var language = document.documentElement.lang || 'en';
    var pause = null;
    var message = function () {
      var left = Math.max(0, max - box.value.length);
      return template.replace('{n}', left.toLocaleString(language));
    };
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
  }
  var links = document.querySelectorAll('.error-summary a[href^="#"]');
  Array.prototype.forEach.call(links, function (link) {
    link.addEventListener('click', function (event) {
      var target = document.getElementById(link.getAttribute('href').slice(1));
      if (!target) return;
      event.preventDefault();
      // Show the question with its label, then put the focus in the field.
      (target.closest('.question') || target).scrollIntoView({ block: 'start' });
      target.focus({ preventScroll: true });
    });
  });
})();
