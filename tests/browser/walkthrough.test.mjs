// The Fly Inc. walkthrough, in the console alone (README: "Console"), in a real browser.
//
// host/tests/all/console.rs starts `switchyard serve` with one source and no destinations, and
// a local server that answers as Braze does. Events are sent with Segment's own Node library.
// A marketer signs in, makes a Braze destination, adds "Trip Booked → Track Purchase" (one
// purchase per trip, by the per-item mapping) after checking its preview, adds "pricing page
// views → Track Event named Viewed Pricing", and sees the next events delivered. Then the
// subscription editor is used with the keyboard alone. Environment:
//   CONSOLE_URL, ADMIN_TOKEN   the admin listener and its token
//   INGEST_URL, WRITE_KEY      where the apps send events
//   BRAZE_URL                  the local Braze (reached through redirect_outbound)
//   CHROMIUM, SHOTS            the browser to drive; a folder for screenshots
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Analytics } from '@segment/analytics-node'
import { watchedPage, axe } from './browser.mjs'

const { CONSOLE_URL, ADMIN_TOKEN, INGEST_URL, WRITE_KEY, BRAZE_URL, SHOTS } = process.env

// Sends events as Fly Inc.'s apps do, with Segment's Node library, and waits until they are in.
async function send (calls) {
  const analytics = new Analytics({ writeKey: WRITE_KEY, host: INGEST_URL, flushAt: 20 })
  const failures = []
  analytics.on('error', (e) => failures.push(String(e?.reason ?? e)))
  for (const [kind, message] of calls) analytics[kind](message)
  await analytics.closeAndFlush({ timeout: 10000 })
  assert.deepEqual(failures, [], 'every event was accepted')
}

function booking (userId, id) {
  return ['track', {
    userId,
    event: 'Trip Booked',
    context: { traits: { email: `${userId}@example.com` } },
    properties: {
      booking_id: id,
      total: 900,
      trips: [
        { route: 'LIS-JFK', fare: 600, currency: 'EUR', seats: 1, fare_class: 'economy' },
        { route: 'JFK-SFO', fare: 300, currency: 'EUR', seats: 2, fare_class: 'economy' },
      ],
    },
  }]
}

const pricing = (userId) => ['page', { userId, name: 'Pricing', properties: { path: '/pricing' } }]

async function signIn (page) {
  await page.goto(CONSOLE_URL + '/sign-in', { waitUntil: 'load' })
  await page.type('#token', ADMIN_TOKEN)
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')])
  assert.equal(new URL(page.url()).pathname, '/')
}

// Replaces what a text field holds.
async function fill (page, selector, text) {
  await page.$eval(selector, (el) => { el.value = '' })
  await page.type(selector, text)
}

// Chooses an option of a select that redraws the editor (a field's kind, the action).
async function chooseAndWait (page, selector, value) {
  await Promise.all([page.waitForNavigation(), page.select(selector, value)])
}

// Waits for the live preview to show `text`; on a timeout, says what it shows instead.
async function previewShows (page, ...texts) {
  try {
    await page.waitForFunction((texts) => {
      const body = document.querySelector('#preview .request-body')?.textContent ?? ''
      return texts.every((t) => body.includes(t))
    }, { timeout: 15000 }, texts)
  } catch (e) {
    const shown = await page.$eval('#editor', (f) => f.innerText + '\nchosen: ' + f.querySelector('#preview-event').value + ' of ' + [...f.querySelectorAll('#preview-event option')].map((o) => o.value).join(' '))
    throw new Error(`the preview never showed ${texts.join(', ')}: ${e}\n${shown}\n${page.errors.join('\n')}`)
  }
}

async function click (page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)])
}

// Adds a subscription of `action` to destination braze: the editor it opens.
async function addSubscription (page, action) {
  await page.goto(CONSOLE_URL + '/destinations/braze')
  await page.select('#new-action', action)
  await click(page, 'form[action="/destinations/braze/subscriptions/new"] button')
  assert.match(await page.$eval('h1', (h) => h.textContent), /New subscription/)
}

// The newest recent event whose label starts with `label`, chosen for the preview.
async function previewOn (page, label) {
  const value = await page.$$eval('#preview-event option', (options, label) =>
    options.find((o) => o.textContent.startsWith(label))?.value, label)
  assert.ok(value, `a recent ${label} event to preview on`)
  await page.select('#preview-event', value)
}

test('Fly Inc. sends bookings and pricing views to Braze, set up in the console alone', async () => {
  await send([
    ['identify', { userId: 'ann', traits: { email: 'ann@example.com', name: 'Ann' } }],
    booking('ann', 'B-1'),
    pricing('ann'),
  ])
  const page = await watchedPage()
  await signIn(page)

  // A Braze destination, with no ready-made subscriptions, sent to the local Braze.
  await click(page, 'a[href="/destinations"]')
  await page.select('#plugin', 'braze')
  await click(page, 'form[action="/destinations/new"] button')
  await page.type('#name', 'braze')
  await page.type('#setting-api_key', 'fly-inc-braze-key-7731')
  await page.select('#setting-endpoint', 'https://rest.iad-01.braze.com')
  await page.click('input[name=presets]')
  await page.click('details.field summary')
  await page.type('#redirect', BRAZE_URL)
  await click(page, 'form.settings button[type=submit]')
  assert.match(await page.$eval('.notice', (n) => n.textContent), /Destination braze created, with no subscriptions yet/)

  // Trip Booked → Track Purchase, one purchase per trip.
  await addSubscription(page, 'trackPurchase')
  await fill(page, '#sub-name', 'Trip Booked is a purchase')
  await page.select('#trigger-kind', 'track')
  await fill(page, '#trigger-name', 'Trip Booked')
  await chooseAndWait(page, '#kind-products', 'items')
  await fill(page, '#array-products', 'properties.trips')
  const keys = [['product_id', 'route'], ['price', 'fare'], ['currency', 'currency'], ['quantity', 'seats']]
  for (const [i, [key, path]] of keys.entries()) {
    if (i > 0) await click(page, 'button[value="add-part:products"]')
    await fill(page, `input[name="field.products.part.${i}.key"]`, key)
    await fill(page, `input[name="field.products.part.${i}.value"]`, path)
  }
  await previewOn(page, 'Trip Booked')
  // The live preview: the exact /users/track request, one purchase per trip.
  await previewShows(page, 'LIS-JFK', 'JFK-SFO')
  const url = await page.$eval('#preview code.url', (c) => c.textContent)
  assert.equal(url, 'https://rest.iad-01.braze.com/users/track')
  const sent = JSON.parse(await page.$eval('#preview .request-body', (p) => p.textContent))
  assert.equal(sent.purchases.length, 2)
  assert.deepEqual(
    sent.purchases.map((p) => [p.external_id, p.product_id, p.price, p.currency, p.quantity]),
    [['ann', 'LIS-JFK', 600, 'EUR', 1], ['ann', 'JFK-SFO', 300, 'EUR', 2]])
  assert.match(await page.$eval('#preview-match', (p) => p.textContent), /takes this event/)
  // Beside each field, its value in this preview.
  assert.equal(await page.$eval('[data-mapped-of=external_id] code', (c) => c.textContent), '"ann"')
  assert.match(await page.$eval('[data-mapped-of=properties] code', (c) => c.textContent), /"booking_id":"B-1"/)
  const preview = await page.$eval('#preview', (p) => p.textContent)
  assert.doesNotMatch(preview, /fly-inc-braze-key-7731/, 'the API key is masked')
  assert.deepEqual(await axe(page), [], 'the editor: no serious or critical accessibility violations')
  await page.screenshot({ path: `${SHOTS}/editor-full.png`, fullPage: true })
  // For the README: the per-item mapping with the trigger above it.
  await page.$eval('#row-products', (r) => r.scrollIntoView({ block: 'center' }))
  await page.screenshot({ path: `${SHOTS}/editor.png` })
  await click(page, '#save')
  assert.match(await page.$eval('.notice', (n) => n.textContent), /Saved “Trip Booked is a purchase”; it is in force now/)
  assert.deepEqual(await axe(page), [], 'the destination page: no serious or critical accessibility violations')

  // Pricing page views → Track Event named "Viewed Pricing".
  await addSubscription(page, 'trackEvent')
  await fill(page, '#sub-name', 'Viewed Pricing')
  await page.select('#trigger-kind', 'page')
  await fill(page, '#trigger-name', 'Pricing')
  // trackEvent's default trigger has a condition; this one needs none.
  await fill(page, 'input[name="condition.0.field"]', '')
  await chooseAndWait(page, '#kind-name', 'literal')
  await fill(page, '#value-name', 'Viewed Pricing')
  await previewOn(page, 'page Pricing')
  await previewShows(page, 'Viewed Pricing')
  assert.equal(await page.$eval('#trigger-written', (c) => c.textContent), 'type = "page" and name = "Pricing"')
  await click(page, '#save')
  assert.match(await page.$eval('.notice', (n) => n.textContent), /Saved “Viewed Pricing”/)

  // More events: delivered, as the events page shows while it is open.
  await page.goto(CONSOLE_URL + '/events')
  await send([booking('bob', 'B-2'), pricing('bob')])
  await page.waitForFunction(() => {
    const text = document.querySelector('#live-events')?.innerText ?? ''
    return text.includes('braze / Trip Booked is a purchase: delivered') &&
      text.includes('braze / Viewed Pricing: delivered')
  }, { timeout: 30000, polling: 500 })
  assert.deepEqual(await axe(page), [], 'the events page: no serious or critical accessibility violations')

  // The deliveries page lists both deliveries.
  await page.goto(CONSOLE_URL + '/deliveries?destination=braze')
  const log = await page.$$eval('section[aria-labelledby=log-heading] tbody tr', (rs) => rs.map((r) => r.innerText))
  assert.ok(log.some((r) => /Trip Booked is a purchase/.test(r) && /delivered/.test(r)), log.join('\n'))
  assert.ok(log.some((r) => /Viewed Pricing/.test(r) && /delivered/.test(r)), log.join('\n'))
  assert.deepEqual(await axe(page), [], 'the deliveries page: no serious or critical accessibility violations')

  // Ann's booking came before Braze was set up: count, then send past bookings again.
  await page.goto(CONSOLE_URL + '/destinations/braze')
  await page.select('#replay-subscription', 'Trip Booked is a purchase')
  await fill(page, '#replay-from', '1h')
  await click(page, 'button[name=send][value=no]')
  assert.match(await page.$eval('.notice', (n) => n.textContent),
    /Counted, nothing sent: \d+ event\(s\) received from .* would make 2 deliveries \(Trip Booked is a purchase 2\)/)
  assert.equal(await page.$eval('#replay-from', (i) => i.value), '1h', 'the form keeps what was counted')
  assert.deepEqual(await axe(page), [], 'the replay form: no serious or critical accessibility violations')
  await page.screenshot({ path: `${SHOTS}/replay.png`, fullPage: true })
  await click(page, 'button[name=send][value=yes]')
  assert.match(await page.$eval('.notice', (n) => n.textContent), /Sent again: .* made 2 deliveries/)
  await page.waitForFunction(async () => {
    const answer = await fetch('/deliveries?destination=braze&outcome=delivered')
    const text = await answer.text()
    return (text.match(/replayed/g) || []).length >= 2
  }, { timeout: 30000, polling: 500 })

  // The overview: where does Trip Booked go? Who receives traits.email?
  await page.goto(CONSOLE_URL + '/')
  await page.type('#event', 'Trip Booked')
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')])
  const marked = await page.$$eval('.subscription.matched h4', (hs) => hs.map((h) => h.textContent))
  assert.equal(marked.length, 1, `one route is marked: ${marked}`)
  assert.match(marked[0], /^Trip Booked is a purchase matches/)
  await page.goto(CONSOLE_URL + '/?field=traits.email')
  const receivers = await page.$$eval('.receivers li', (ls) => ls.map((l) => l.textContent))
  assert.ok(receivers.some((r) => /braze.*Trip Booked is a purchase.*email/s.test(r)), receivers.join('\n'))
  await page.goto(CONSOLE_URL + '/plugins')
  assert.deepEqual(await axe(page), [], 'the plugins page: no serious or critical accessibility violations')
  assert.deepEqual(page.dialogs, [])
  assert.deepEqual(page.errors, [])
  await page.close()
})

// Presses Tab until the element with `id` has the focus.
async function tabTo (page, id) {
  for (let i = 0; i < 200; i++) {
    if (await page.evaluate((id) => document.activeElement?.id === id, id)) return
    await page.keyboard.press('Tab')
  }
  assert.fail(`Tab never reached #${id}`)
}

test('the subscription editor works with the keyboard alone', async () => {
  const page = await watchedPage()
  await signIn(page)
  await page.goto(CONSOLE_URL + '/destinations/braze/subscriptions/new?action=trackEvent')
  await tabTo(page, 'sub-name')
  await page.keyboard.down('Control')
  await page.keyboard.press('KeyA')
  await page.keyboard.up('Control')
  await page.keyboard.type('Typed with keys')
  await tabTo(page, 'trigger-name')
  await page.keyboard.type('Keyboard Event')
  // Add a condition with Enter on its button: the editor comes back with a new row.
  await tabTo(page, 'add-condition')
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')])
  const rows = await page.$$eval('.condition', (cs) => cs.length)
  assert.equal(rows, 2, 'the default condition and the new one')
  await tabTo(page, 'cond-1-field')
  await page.keyboard.type('properties.plan')
  await tabTo(page, 'cond-1-value')
  await page.keyboard.type('pro')
  await tabTo(page, 'save')
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')])
  assert.match(await page.$eval('.notice', (n) => n.textContent), /Saved “Typed with keys”/)
  const trigger = await page.$$eval('table.list tbody tr', (rs) =>
    rs.map((r) => r.innerText).find((t) => t.includes('Typed with keys')))
  assert.match(trigger, /event = "Keyboard Event"/)
  assert.match(trigger, /properties\.plan = "pro"/)
  await page.close()
})
