import type { Pass } from 'shared-session/fetch';

declare global {
  namespace App {
    interface Locals {
      /** This request's session (shared-session's layer): `data`, `regenerate()`, `destroy()`. */
      session: Pass['session'];
      /** The loader's `<script>` tags for this page ('' when there is nothing to send). */
      loader: Pass['loader'];
    }
  }
}
