// Human text for every problem `type` the API returns. Clients branch on the type, never on
// the server's wording; an unknown type falls back to the server's `detail`.

const MESSAGES = {
  '/problems/invalid-request': 'Some of what you entered is not valid. Please check the highlighted fields.',
  '/problems/unauthorized': 'Please log in to continue.',
  '/problems/forbidden': 'Your account is not allowed to do that.',
  '/problems/not-found': 'We could not find what you were looking for. It may have been removed or unpublished.',
  '/problems/method-not-allowed': 'That action is not available here.',
  '/problems/payload-too-large': 'What you sent is too large. Please shorten it and try again.',
  '/problems/unsupported-media-type': 'The request was in a format the server does not accept.',
  '/problems/rate-limited': 'Too many attempts. Please wait a moment and try again.',
  '/problems/service-unavailable': 'The service is temporarily unavailable. Please try again in a few seconds.',
  '/problems/internal': 'Something went wrong on our side. Please try again.',
  '/problems/email-taken': 'An account with this email already exists. Log in instead?',
  '/problems/invalid-credentials': 'That email and password do not match an account.',
  '/problems/weak-password': 'Please choose a stronger password.',
  '/problems/cart-full': 'Your cart is full. Check out or remove a course first.',
  '/problems/course-unavailable': 'This course is not on sale right now.',
  '/problems/course-already-owned': 'You already own this course — find it in My courses.',
  '/problems/cart-empty': 'Your cart is empty. Add a course before checking out.',
  '/problems/cart-unavailable': 'Your cart is kept in a region that is not answering right now. Please try again in a few seconds.',
  '/problems/mixed-currencies': 'Courses priced in different currencies cannot be bought together.',
  '/problems/idempotency-key-reused': 'This checkout attempt was already used with different details. Please submit again.',
  '/problems/payment-declined': 'Your card was declined. You have not been charged — please try another card.',
  '/problems/checkout-in-progress': 'Your payment is still being processed. Please wait a moment.',
  '/problems/payment-provider-error': 'The payment provider had a problem. You have not been charged; please try again.',
  network: 'Could not reach the server. Check your connection and try again.',
};

/** The text to show a person for a problem document. */
export function problemMessage(problem) {
  return MESSAGES[problem.type] ?? problem.detail ?? problem.title ?? `Unexpected error (HTTP ${problem.status}).`;
}

/** Per-field messages from a 400's `errors` list, by field name. */
export function fieldErrors(problem) {
  const byField = new Map();
  for (const error of problem.errors ?? []) {
    byField.set(error.field, error.message);
  }
  return byField;
}
