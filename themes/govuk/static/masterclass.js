// Progressive enhancement: the pages work without this file. With it, block answers
// submit in place, without a page reload, and focus moves to the feedback.
import { initAll } from '/govuk-frontend.min.js'

initAll()

function enhance (root) {
  root.querySelectorAll('form[data-mc-form]').forEach(function (form) {
    form.addEventListener('submit', async function (event) {
      event.preventDefault()
      const button = form.querySelector('button[type=submit]')
      if (button) button.disabled = true
      try {
        const response = await fetch(form.action, {
          method: 'POST',
          body: new URLSearchParams(new FormData(form)),
          headers: { Accept: 'application/json' },
          credentials: 'same-origin'
        })
        if (response.status === 401 || response.status >= 500 || !(response.headers.get('content-type') || '').includes('json')) {
          form.submit()
          return
        }
        const data = await response.json()
        if (!data.html) {
          form.submit()
          return
        }
        const section = form.closest('[data-mc-block]')
        const holder = document.createElement('div')
        holder.innerHTML = data.html
        const replacement = holder.firstElementChild
        section.replaceWith(replacement)
        enhance(replacement)
        initAll({ scope: replacement })
        const status = document.getElementById('lesson-status')
        if (status && data.lesson_status === 'completed') {
          status.textContent = 'You have completed this lesson.'
          status.classList.add('govuk-!-font-weight-bold')
        }
        const target = replacement.querySelector('[data-mc-feedback], .govuk-error-message')
        if (target) {
          if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1')
          target.focus()
        }
      } catch (error) {
        form.submit()
      }
    })
  })
  root.querySelectorAll('video[data-mc-video]').forEach(function (video) {
    video.addEventListener('ended', function () {
      const form = video.closest('[data-mc-block]').querySelector('form[data-mc-form]')
      if (form && form.querySelector('button[type=submit]')) form.requestSubmit()
    })
  })
}

enhance(document)
