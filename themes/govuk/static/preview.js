// Authoring preview only: reload the page when the course is rebuilt, keeping the scroll position.
const key = 'masterclass-preview-scroll:' + location.pathname
const saved = sessionStorage.getItem(key)
if (saved !== null) {
  sessionStorage.removeItem(key)
  window.scrollTo(0, parseInt(saved, 10) || 0)
}
let seen = null
const source = new EventSource('/preview/events')
source.addEventListener('hello', function (event) {
  if (seen !== null && event.data !== seen) reload()
  seen = event.data
})
source.addEventListener('reload', function () { reload() })

function reload () {
  sessionStorage.setItem(key, String(window.scrollY))
  location.reload()
}
