// What the browser suites share: Debian's chromium launched once per file, pages that record
// what must never happen (a dialog opened, a script error, a refused fetch), and an axe-core
// check that keeps the serious and critical violations.
import { before, after } from 'node:test'
import { readFileSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import puppeteer from 'puppeteer-core'

const { CHROMIUM, SHOTS } = process.env
const require = createRequire(import.meta.url)
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

let browser
before(async () => {
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Tests run as root in CI, where chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  })
  mkdirSync(SHOTS, { recursive: true })
})
after(async () => { await browser?.close() })

// A page, in a browser context of its own (its own cookies, so each test signs in afresh),
// that records any dialog (alert, confirm, prompt) something on it opens: the sign that event
// data ran as script. Script errors and console errors (a fetch or script the
// Content-Security-Policy refused is one) are kept in `page.errors`.
export async function watchedPage () {
  const context = await browser.createBrowserContext()
  const page = await context.newPage()
  await page.setViewport({ width: 1280, height: 900 })
  page.dialogs = []
  page.on('dialog', async (d) => { page.dialogs.push(d.message()); await d.dismiss() })
  page.errors = []
  page.on('pageerror', (e) => page.errors.push(String(e)))
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(`${m.text()} (${m.location()?.url ?? ''})`) })
  return page
}

// The serious and critical accessibility violations on the page, one line each.
export async function axe (page) {
  await page.evaluate(AXE)
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }))
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
}
