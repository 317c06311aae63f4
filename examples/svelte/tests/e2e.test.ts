import { testFrameworkExample } from '../../support/framework-example.js'

testFrameworkExample('svelte')
