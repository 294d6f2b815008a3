// Who is signed in and what is in the cart, shared by the navigation and the pages.

import { api, ApiProblem } from './api.js';

const listeners = new Set();

export const session = {
  /** The signed-in `User`, or null. */
  user: null,
  cartCount: 0,

  onChange(listener) {
    listeners.add(listener);
  },

  changed() {
    for (const listener of listeners) listener(this);
  },

  /** Loads the user (401 means signed out) and the cart count. */
  async load() {
    try {
      this.user = await api('GET', '/api/me');
    } catch (error) {
      if (!(error instanceof ApiProblem && error.status === 401)) throw error;
      this.user = null;
    }
    await this.refreshCart();
  },

  async refreshCart() {
    try {
      const cart = await api('GET', '/api/cart');
      this.setCart(cart);
    } catch {
      // The count in the navigation is a convenience; the cart page reports errors.
    }
  },

  setCart(cart) {
    this.cartCount = cart?.count ?? 0;
    this.changed();
  },

  setUser(user) {
    this.user = user;
    this.changed();
  },

  get isAdmin() {
    return this.user?.role === 'admin';
  },
};
