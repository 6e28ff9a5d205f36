// Starts govuk-frontend's components (password reveal, error summary focus, and so on).
import { initAll } from '/frontend/govuk-frontend.min.js'

initAll()
