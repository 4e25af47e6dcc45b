// End-to-end tests run whole processes and a browser: allow three minutes per test.
jest.setTimeout(180000);
