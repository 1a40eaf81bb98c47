// The web console in a real browser (Debian's chromium, driven by puppeteer-core).
//
// host/tests/all/console.rs starts `switchyard serve`, sends events through the ingest API and
// runs this file with node's test runner. It gives:
//   CONSOLE_URL   the admin listener's base URL (the console is at /)
//   ADMIN_TOKEN   the admin token
//   CHROMIUM      the browser to drive
//   EVIL          an event name made to look like markup (it was sent as an event)
//   SHOTS         a folder for screenshots
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { watchedPage, axe } from './browser.mjs'

const { CONSOLE_URL, ADMIN_TOKEN, EVIL, SHOTS } = process.env

// Signs in with the keyboard only: focus the token field, type, press Enter.
async function signIn (page) {
  await page.goto(CONSOLE_URL + '/', { waitUntil: 'load' })
  assert.match(page.url(), /\/sign-in$/, 'an unsigned visitor is sent to sign-in')
  // The token field takes the focus by itself (autofocus, which browsers apply just after load).
  await page.waitForFunction(() => document.activeElement?.id === 'token', { timeout: 5000 })
  await page.keyboard.type(ADMIN_TOKEN)
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')])
  assert.equal(new URL(page.url()).pathname, '/')
}

test('sign-in is a password field labelled "Admin token", and a wrong token is refused', async () => {
  const page = await watchedPage()
  await page.goto(CONSOLE_URL + '/sign-in')
  const label = await page.$eval('label[for=token]', (l) => l.textContent.trim())
  assert.equal(label, 'Admin token')
  assert.equal(await page.$eval('#token', (i) => i.type), 'password')
  await page.type('#token', 'not-the-token')
  const [response] = await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')])
  assert.equal(response.status(), 401)
  assert.match(await page.$eval('.problem', (p) => p.textContent), /not the admin token/)
  assert.doesNotMatch(page.url(), /token=/, 'the token never goes into a URL')
  assert.deepEqual(await axe(page), [], 'no serious or critical accessibility violations')
  await page.close()
})

test('the overview shows which data goes where, and the questions answer', async () => {
  const page = await watchedPage()
  await signIn(page)
  assert.equal(await page.$eval('h1', (h) => h.textContent), 'Which data goes where')
  const text = await page.$eval('main', (m) => m.innerText)
  assert.match(text, /Track events named “Trip Booked”/)
  assert.match(text, /Page views named “Pricing”/)
  assert.deepEqual(await axe(page), [], 'no serious or critical accessibility violations')
  await page.screenshot({ path: `${SHOTS}/overview.png`, fullPage: true })
  await page.setViewport({ width: 420, height: 900 })
  await page.screenshot({ path: `${SHOTS}/overview-narrow.png`, fullPage: true })
  await page.setViewport({ width: 1280, height: 900 })

  // "Where does this event go?", with the keyboard: focus the field, type, Enter.
  await page.focus('#event')
  await page.keyboard.type('Trip Booked')
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')])
  const marked = await page.$$eval('.subscription.matched h4', (hs) => hs.map((h) => h.textContent))
  assert.equal(marked.length, 1, `one route is marked: ${marked}`)
  assert.match(marked[0], /Bookings/)
  const sent = await page.$eval('.subscription.matched pre', (p) => p.textContent)
  assert.match(sent, /LIS-NYC/, 'the payload built from the recent event')
  await page.screenshot({ path: `${SHOTS}/where-does-it-go.png`, fullPage: true })

  // "Who receives this field?"
  await page.goto(CONSOLE_URL + '/?field=traits.email')
  const receivers = await page.$$eval('.receivers li', (ls) => ls.map((l) => l.textContent))
  assert.equal(receivers.length, 1, `${receivers}`)
  assert.match(receivers[0], /hook.*Bookings.*data/)
  assert.deepEqual(page.dialogs, [])
  await page.close()
})

test('the catalogue lists every integration, and passes an accessibility check', async () => {
  const page = await watchedPage()
  await signIn(page)
  await Promise.all([page.waitForNavigation(), page.click('a[href="/catalogue"]')])
  const names = await page.$$eval('article h2', (hs) => hs.map((h) => h.textContent))
  assert.ok(names.length >= 10, `${names}`)
  assert.ok(names.includes('Braze') && names.includes('Slack'), `${names}`)
  assert.deepEqual(await axe(page), [], 'no serious or critical accessibility violations')
  await page.screenshot({ path: `${SHOTS}/catalogue.png` })
  await page.close()
})

test('a destination is made from its settings form and listed', async () => {
  const page = await watchedPage()
  await signIn(page)
  await Promise.all([page.waitForNavigation(), page.click('a[href="/destinations"]')])
  await page.select('#plugin', 'braze')
  await Promise.all([page.waitForNavigation(), page.click('form[action="/destinations/new"] button')])
  assert.deepEqual(await axe(page), [], 'the form: no serious or critical accessibility violations')
  await page.type('#name', 'crm')
  await page.type('#setting-api_key', 'browser-secret-123')
  await page.select('#setting-endpoint', 'https://rest.iad-01.braze.com')
  await page.screenshot({ path: `${SHOTS}/new-destination.png`, fullPage: true })
  await Promise.all([page.waitForNavigation(), page.click('form.settings button[type=submit]')])
  assert.match(await page.$eval('.notice', (n) => n.textContent), /Destination crm created/)
  const rows = await page.$$eval('table.list tbody tr', (rs) => rs.map((r) => r.innerText))
  assert.ok(rows.some((r) => /crm\s+Braze\s+on/.test(r)), `${rows}`)
  assert.ok(!(await page.content()).includes('browser-secret-123'), 'the secret is not on the page')
  assert.deepEqual(await axe(page), [], 'the list: no serious or critical accessibility violations')
  // Off again: this test sends no events after it, and nothing may go to Braze's real host.
  await Promise.all([page.waitForNavigation(), page.click('form[action="/destinations/crm/switch"] button')])
  assert.match(await page.$eval('.notice', (n) => n.textContent), /Destination crm is off/)
  await page.close()
})

test('the events page shows where each event went', async () => {
  const page = await watchedPage()
  await signIn(page)
  await Promise.all([page.waitForNavigation(), page.click('a[href="/events"]')])
  const events = await page.$$eval('.event', (es) => es.map((e) => e.innerText))
  const booked = events.find((e) => e.includes('Trip Booked'))
  assert.ok(booked, `${events}`)
  assert.match(booked, /hook \/ Bookings: (delivered|waiting|retrying)/)
  assert.deepEqual(await axe(page), [], 'no serious or critical accessibility violations')
  await page.screenshot({ path: `${SHOTS}/events.png`, fullPage: true })
  await page.close()
})

test('event data that looks like markup is shown as text and runs nothing', async () => {
  const page = await watchedPage()
  await signIn(page)
  const query = new URLSearchParams({ event: EVIL, field: '<img src=x onerror=alert(7)>' })
  await page.goto(`${CONSOLE_URL}/?${query}`, { waitUntil: 'load' })
  // Give any handler that was (wrongly) attached a chance to fire.
  await new Promise((resolve) => setTimeout(resolve, 500))
  assert.deepEqual(page.dialogs, [], 'no script ran')
  assert.deepEqual(page.errors, [])
  assert.equal(await page.$$eval('img', (i) => i.length), 0, 'no element was made from event data')
  assert.equal(await page.$$eval('script', (s) => s.length), 0, 'no script element was made')
  const shown = await page.$eval('.answer pre', (p) => p.textContent)
  assert.ok(shown.includes(EVIL), 'the event name is shown, as text')
  const links = await page.$$eval('a', (as) => as.map((a) => a.getAttribute('href')))
  assert.ok(links.every((h) => !h.startsWith('javascript:')), `${links}`)

  // The events page shows the same event, its name and properties, as text.
  // It updates itself: wait for one update, so the list it fetched is checked too.
  await page.goto(`${CONSOLE_URL}/events`, { waitUntil: 'load' })
  await new Promise((resolve) => setTimeout(resolve, 3500))
  const onlyOurs = async () => {
    assert.equal(await page.$$eval('img', (i) => i.length), 0, 'no element was made from event data')
    const scripts = await page.$$eval('script', (s) => s.map((e) => e.getAttribute('src')))
    assert.ok(scripts.every((src) => src === '/assets/console.js'), `only the console's script: ${scripts}`)
  }
  assert.deepEqual(page.dialogs, [], 'no script ran on the events page')
  await onlyOurs()
  const titles = await page.$$eval('.event h2', (hs) => hs.map((h) => h.textContent))
  assert.ok(titles.some((t) => t.includes(EVIL)), `${titles}`)

  // The subscription editor lists recent events (names, paths) for its pickers and preview.
  await page.goto(`${CONSOLE_URL}/destinations/hook/subscriptions/Bookings/edit`, { waitUntil: 'load' })
  const evil = await page.$$eval('#preview-event option', (os, evil) =>
    os.find((o) => o.textContent.startsWith(evil))?.value, EVIL)
  assert.ok(evil, 'the event is offered for the preview, its name as text')
  await page.select('#preview-event', evil)
  await page.waitForFunction(() => /does not take this event/.test(document.querySelector('#preview')?.textContent ?? ''), { timeout: 10000 })
  assert.ok((await page.$eval('#preview', (p) => p.textContent)).includes(EVIL))
  assert.deepEqual(page.dialogs, [], 'no script ran in the editor')
  await onlyOurs()
  assert.deepEqual(await axe(page), [], 'the editor: no serious or critical accessibility violations')
  await page.goto(`${CONSOLE_URL}/deliveries`, { waitUntil: 'load' })
  assert.deepEqual(page.dialogs, [])
  await onlyOurs()
  assert.deepEqual(page.errors, [])
  await page.close()
})

test('signing out with the keyboard ends the session', async () => {
  const page = await watchedPage()
  await signIn(page)
  await page.focus('.sign-out button')
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')])
  assert.match(page.url(), /\/sign-in$/)
  await page.goto(CONSOLE_URL + '/')
  assert.match(page.url(), /\/sign-in$/, 'the old session is gone')
  await page.close()
})

test('every page passes an accessibility check', async () => {
  const page = await watchedPage()
  await signIn(page)
  for (const path of [
    '/', '/events', '/deliveries', '/destinations', '/destinations/hook',
    '/destinations/hook/subscriptions/Bookings/edit', '/destinations/chat/subscriptions/new',
    '/destinations/new?plugin=slack', '/destinations/crm/edit', '/destinations/crm/delete',
    '/catalogue', '/plugins',
  ]) {
    const response = await page.goto(CONSOLE_URL + path, { waitUntil: 'load' })
    assert.equal(response.status(), 200, path)
    assert.deepEqual(await axe(page), [], `${path}: no serious or critical accessibility violations`)
  }
  assert.deepEqual(page.errors, [])
  await page.close()
})

test('a form whose CSRF token was tampered with is refused, and changes nothing', async () => {
  const page = await watchedPage()
  await signIn(page)
  await page.goto(CONSOLE_URL + '/destinations')
  await page.$eval('form.sign-out input[name=csrf]', (i) => { i.value = 'forged' })
  const [response] = await Promise.all([page.waitForNavigation(), page.click('form.sign-out button')])
  assert.equal(response.status(), 403)
  assert.match(await page.$eval('body', (b) => b.textContent), /CSRF check/)
  // The session was not ended by the refused form.
  await page.goto(CONSOLE_URL + '/')
  assert.equal(new URL(page.url()).pathname, '/')
  await page.close()
})

// Last: it locks this address out of sign-in for a minute.
test('ten wrong tokens in a minute lock sign-in from that address, even for the right one', async () => {
  const page = await watchedPage()
  // The first test already sent one wrong token from this address.
  let refused = 1
  for (;;) {
    await page.goto(CONSOLE_URL + '/sign-in')
    await page.type('#token', `wrong-${refused}`)
    const [response] = await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')])
    if (response.status() === 429) break
    assert.equal(response.status(), 401)
    refused += 1
    assert.ok(refused <= 10, 'no more than ten wrong tokens a minute are checked')
  }
  assert.equal(refused, 10, 'ten wrong tokens are checked before the lock')
  await page.goto(CONSOLE_URL + '/sign-in')
  await page.type('#token', ADMIN_TOKEN)
  const [locked] = await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')])
  assert.equal(locked.status(), 429)
  assert.match(await page.$eval('.problem', (p) => p.textContent), /Too many wrong tokens/)
  assert.ok(Number(locked.headers()['retry-after']) > 0)
  await page.close()
})
