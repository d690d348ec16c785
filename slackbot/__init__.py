"""The Slack adapter: answers @mentions and direct messages in threads, with cited sources.

``slackbot.app.create_app`` wires a slack-bolt ``App`` to an answer service; ``slackbot.run``
serves it in Socket Mode or over HTTP (``docduet slack``). See docs/slack.md.
"""
