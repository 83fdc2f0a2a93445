// The claim form's dates are calendar days (a date of service has no hour): Django's "you are N hours ahead of
// server time" note, meant for date-time inputs, only confuses there. Times are shown in the practice's zone.
// Hand-written because Django has no setting for it: DateTimeShortcuts adds the note on page load.
'use strict';
window.addEventListener('load', function() {
    if (window.DateTimeShortcuts) {
        const original = DateTimeShortcuts.addTimezoneWarning;
        DateTimeShortcuts.addTimezoneWarning = function(inp) {
            if (!inp.classList.contains('vDateField')) {
                original.call(DateTimeShortcuts, inp);
            }
        };
    }
    setTimeout(function() {  // if DateTimeShortcuts ran first
        for (const note of document.querySelectorAll('.timezonewarning')) {
            const box = note.parentElement;
            if (box.querySelector('input.vDateField') && !box.querySelector('input.vTimeField')) {
                note.remove();
            }
        }
    }, 0);
});
