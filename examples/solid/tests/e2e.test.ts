import { testFrameworkExample } from '../../support/framework-example.js'

testFrameworkExample('solid')
