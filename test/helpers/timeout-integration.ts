// Integration tests talk to real services: allow a minute per test.
jest.setTimeout(60000);
