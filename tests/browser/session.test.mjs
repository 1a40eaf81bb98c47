// Console sessions end after their idle time (host/tests/all/console.rs starts a server whose
// `server.console_idle_s` is 4 seconds for this file), and carry on while they are used.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { watchedPage } from './browser.mjs'

const { CONSOLE_URL, ADMIN_TOKEN } = process.env
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

test('a session kept in use carries on; one left idle ends, and sign-in is asked again', async () => {
  const page = await watchedPage()
  await page.goto(CONSOLE_URL + '/sign-in')
  await page.type('#token', ADMIN_TOKEN)
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')])
  assert.equal(new URL(page.url()).pathname, '/')
  // Used every second for six seconds, longer than the idle time: still signed in.
  for (let i = 0; i < 6; i++) {
    await sleep(1000)
    await page.goto(CONSOLE_URL + '/catalogue')
    assert.equal(new URL(page.url()).pathname, '/catalogue', `after ${i + 1} s of use`)
  }
  // Left alone for longer than its idle time (on a page that does not update itself; the
  // events page's updates are use): gone.
  await sleep(6000)
  await page.goto(CONSOLE_URL + '/destinations')
  assert.equal(new URL(page.url()).pathname, '/sign-in')
  await page.close()
})
