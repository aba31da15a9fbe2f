// Progressive enhancement: the pages work without this file. With it, block answers
// submit in place, without a page reload, and focus moves to the feedback. An answer
// that cannot be accepted is shown as it is without JavaScript: in the GOV.UK error
// summary at the top of the page, which takes focus and links to the field.
import { ErrorSummary, initAll } from '/govuk-frontend.min.js'

initAll()

// The certificate page: with JavaScript a button prints; without it, the page says how to print instead.
document.querySelectorAll('[data-mc-print]').forEach(function (button) {
  button.hidden = false
  button.addEventListener('click', function () { window.print() })
})
document.querySelectorAll('[data-mc-print-instructions]').forEach(function (text) { text.hidden = true })

const TITLE_PREFIX = 'Error: '
// The block errors shown in the summary, in the order they arose: block id -> { href, text }.
const blockErrors = new Map()

function escapeHtml (text) {
  const span = document.createElement('span')
  span.textContent = text
  return span.innerHTML
}

function renderErrorSummary () {
  const main = document.getElementById('main-content')
  if (!main) return
  const existing = main.querySelector('.govuk-error-summary')
  if (existing) existing.remove()
  if (!blockErrors.size) {
    if (document.title.startsWith(TITLE_PREFIX)) document.title = document.title.slice(TITLE_PREFIX.length)
    return
  }
  if (!document.title.startsWith(TITLE_PREFIX)) document.title = TITLE_PREFIX + document.title
  const items = Array.from(blockErrors.values()).map(function (error) {
    return '<li><a href="' + escapeHtml(error.href) + '">' + escapeHtml(error.text) + '</a></li>'
  }).join('')
  const holder = document.createElement('div')
  holder.innerHTML = '<div class="govuk-error-summary" data-module="govuk-error-summary"><div role="alert">' +
    '<h2 class="govuk-error-summary__title">There is a problem</h2>' +
    '<div class="govuk-error-summary__body"><ul class="govuk-list govuk-error-summary__list">' + items +
    '</ul></div></div></div>'
  const summary = holder.firstElementChild
  main.prepend(summary)
  // GOV.UK Frontend's error summary moves focus to itself, and its links focus their field.
  try {
    new ErrorSummary(summary) // eslint-disable-line no-new
  } catch (error) {}
  if (document.activeElement !== summary) {
    summary.setAttribute('tabindex', '-1')
    summary.focus()
  }
}

function noteBlockError (section, message) {
  const id = section.id
  if (message) {
    const field = section.querySelector('textarea, input:not([type=hidden]), select')
    blockErrors.set(id, { href: '#' + (field ? field.id : id), text: message })
  } else {
    blockErrors.delete(id)
  }
}

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
        const hadErrors = blockErrors.size > 0
        noteBlockError(replacement, data.ok ? '' : data.error)
        if (!data.ok || hadErrors) renderErrorSummary()
        if (data.ok) {
          const target = replacement.querySelector('[data-mc-feedback]')
          if (target) {
            if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1')
            target.focus()
          }
        }
      } catch (error) {
        form.submit()
      }
    })
  })
  root.querySelectorAll('video[data-mc-video]').forEach(function (video) {
    trackVideo(video)
    video.addEventListener('ended', function () {
      const form = video.closest('[data-mc-block]').querySelector('form[data-mc-form]')
      if (form && form.querySelector('button[type=submit]')) form.requestSubmit()
    })
  })
}

// A page the server rendered with an error (a submission without JavaScript) starts with that error listed.
document.querySelectorAll('[data-mc-block]').forEach(function (section) {
  const message = section.querySelector('.govuk-error-message')
  if (message) {
    const hidden = message.querySelector('.govuk-visually-hidden')
    noteBlockError(section, message.textContent.replace(hidden ? hidden.textContent : '', '').trim())
  }
})

enhance(document)

// The xAPI Video Profile's played / paused / seeked, sent as they happen (best effort: a lost one is only a
// lost detail, and "Mark as watched" still records the video without JavaScript).
function trackVideo (video) {
  const block = video.closest('[data-mc-block]')
  const form = block && block.querySelector('form[data-mc-form]')
  if (!form) return
  const url = form.action.split('#')[0] + '/video-events'
  const token = form.querySelector('input[name=csrf_token]').value
  let last = 0
  let seeking = null
  function send (params) {
    if (video.duration && isFinite(video.duration)) {
      params.length = video.duration.toFixed(3)
      params.progress = Math.min(1, video.currentTime / video.duration).toFixed(3)
    }
    fetch(url + '?' + new URLSearchParams(params), {
      method: 'POST', headers: { 'X-CSRF-Token': token }, credentials: 'same-origin', keepalive: true
    }).catch(function () {})
  }
  video.addEventListener('timeupdate', function () { if (!video.seeking) last = video.currentTime })
  video.addEventListener('seeking', function () { if (seeking === null) seeking = last })
  video.addEventListener('seeked', function () {
    send({ event: 'seeked', from: (seeking || 0).toFixed(3), to: video.currentTime.toFixed(3) })
    seeking = null
  })
  video.addEventListener('play', function () { send({ event: 'played', time: video.currentTime.toFixed(3) }) })
  video.addEventListener('pause', function () {
    if (!video.ended) send({ event: 'paused', time: video.currentTime.toFixed(3) })
  })
}
