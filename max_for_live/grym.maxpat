{
	"patcher": {
		"fileversion": 1,
		"appversion": {
			"major": 8,
			"minor": 6,
			"revision": 0,
			"architecture": "x64",
			"modernui": 1
		},
		"classnamespace": "box",
		"rect": [
			100.0,
			100.0,
			1500.0,
			860.0
		],
		"openrect": [
			0.0,
			0.0,
			592.0,
			169.0
		],
		"openinpresentation": 1,
		"default_fontsize": 10.0,
		"default_fontname": "Arial Bold",
		"gridsize": [
			8.0,
			8.0
		],
		"devicewidth": 592.0,
		"description": "grym: analyze, suggest effects, generate and compose through the grym bridge",
		"boxes": [
			{
				"box": {
					"maxclass": "newobj",
					"text": "plugin~",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": [
						"signal",
						"signal"
					],
					"id": "obj-1",
					"patching_rect": [
						20,
						20,
						60.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "plugout~",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": [
						"signal",
						"signal"
					],
					"id": "obj-2",
					"patching_rect": [
						20,
						560,
						60.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "node.script grym_node.js @autostart 1 @watch 0",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"saved_object_attributes": {
						"autostart": 1,
						"defer": 0,
						"watch": 0
					},
					"textfile": {
						"filename": "grym_node.js",
						"flags": 0,
						"embed": 0,
						"autowatch": 1
					},
					"id": "obj-3",
					"patching_rect": [
						300,
						300,
						322.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "js grym_lom.js",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"saved_object_attributes": {
						"filename": "grym_lom.js",
						"parameter_enable": 0
					},
					"id": "obj-4",
					"patching_rect": [
						300,
						420,
						98.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "live.thisdevice",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"bang",
						"int",
						"int"
					],
					"id": "obj-5",
					"patching_rect": [
						300,
						380,
						105.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "route lom ui",
					"numinlets": 2,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						""
					],
					"id": "obj-6",
					"patching_rect": [
						300,
						340,
						84.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "route status analysis result chain error connected",
					"numinlets": 2,
					"numoutlets": 7,
					"outlettype": [
						"",
						"",
						"",
						"",
						"",
						"",
						""
					],
					"id": "obj-7",
					"patching_rect": [
						600,
						340,
						350.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "grym: starting",
					"presentation": 1,
					"presentation_rect": [
						4,
						150,
						300,
						16
					],
					"id": "obj-8",
					"patching_rect": [
						600,
						600,
						300,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "Analyze the selected clip: key, tempo, LUFS, peak",
					"presentation": 1,
					"presentation_rect": [
						4,
						24,
						480,
						16
					],
					"id": "obj-9",
					"patching_rect": [
						600,
						620,
						480,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"readonly": 1,
					"lines": 0,
					"wordwrap": 1,
					"fontsize": 9.0,
					"text": "results show here",
					"outlettype": [
						"",
						"int",
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						4,
						88,
						320,
						58
					],
					"id": "obj-10",
					"patching_rect": [
						600,
						640,
						320,
						58
					]
				}
			},
			{
				"box": {
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"readonly": 1,
					"lines": 0,
					"wordwrap": 1,
					"fontsize": 9.0,
					"text": "Suggest maps its chain onto Live's devices here",
					"outlettype": [
						"",
						"int",
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						328,
						88,
						260,
						58
					],
					"id": "obj-11",
					"patching_rect": [
						600,
						700,
						260,
						58
					]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "",
					"textcolor": [
						1.0,
						0.36,
						0.33,
						1.0
					],
					"presentation": 1,
					"presentation_rect": [
						308,
						150,
						280,
						16
					],
					"id": "obj-12",
					"patching_rect": [
						600,
						760,
						280,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "○ connecting",
					"fontsize": 9.0,
					"presentation": 1,
					"presentation_rect": [
						470,
						4,
						118,
						16
					],
					"id": "obj-13",
					"patching_rect": [
						600,
						780,
						118,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend set",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-14",
					"patching_rect": [
						600,
						380,
						77.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend set",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-15",
					"patching_rect": [
						720,
						380,
						77.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend set",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-16",
					"patching_rect": [
						840,
						380,
						77.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend set",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-17",
					"patching_rect": [
						960,
						380,
						77.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "route clear",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"id": "obj-18",
					"patching_rect": [
						1080,
						420,
						77.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"text": "set",
					"outlettype": [
						""
					],
					"id": "obj-19",
					"patching_rect": [
						1080,
						460,
						100.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend set",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-20",
					"patching_rect": [
						1180,
						460,
						77.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "route 0 1",
					"numinlets": 2,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						""
					],
					"id": "obj-21",
					"patching_rect": [
						1300,
						420,
						63.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend set ○",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-22",
					"patching_rect": [
						1300,
						460,
						91.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend set ●",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-23",
					"patching_rect": [
						1400,
						460,
						91.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"parameter_enable": 1,
					"varname": "Analyze",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Analyze",
							"parameter_shortname": "Analyze",
							"parameter_type": 2,
							"parameter_mmin": 0,
							"parameter_mmax": 1,
							"parameter_modmode": 0,
							"parameter_enum": [
								"val1",
								"val2"
							]
						}
					},
					"text": "Analyze",
					"mode": 0,
					"outlettype": [
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						4,
						4,
						52,
						16
					],
					"id": "obj-24",
					"patching_rect": [
						20,
						120,
						52,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"text": "analyze",
					"outlettype": [
						""
					],
					"id": "obj-25",
					"patching_rect": [
						20,
						160,
						100.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"parameter_enable": 1,
					"varname": "Suggest",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Suggest",
							"parameter_shortname": "Suggest",
							"parameter_type": 2,
							"parameter_mmin": 0,
							"parameter_mmax": 1,
							"parameter_modmode": 0,
							"parameter_enum": [
								"val1",
								"val2"
							]
						}
					},
					"text": "Suggest",
					"mode": 0,
					"outlettype": [
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						60,
						4,
						52,
						16
					],
					"id": "obj-26",
					"patching_rect": [
						90,
						120,
						52,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"text": "suggest",
					"outlettype": [
						""
					],
					"id": "obj-27",
					"patching_rect": [
						90,
						160,
						100.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"parameter_enable": 1,
					"varname": "Render A/B",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Render A/B",
							"parameter_shortname": "Render A/B",
							"parameter_type": 2,
							"parameter_mmin": 0,
							"parameter_mmax": 1,
							"parameter_modmode": 0,
							"parameter_enum": [
								"val1",
								"val2"
							]
						}
					},
					"text": "Render A/B",
					"mode": 0,
					"outlettype": [
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						116,
						4,
						60,
						16
					],
					"id": "obj-28",
					"patching_rect": [
						160,
						120,
						60,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"text": "render_ab",
					"outlettype": [
						""
					],
					"id": "obj-29",
					"patching_rect": [
						160,
						160,
						100.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"parameter_enable": 1,
					"varname": "Similar",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Similar",
							"parameter_shortname": "Similar",
							"parameter_type": 2,
							"parameter_mmin": 0,
							"parameter_mmax": 1,
							"parameter_modmode": 0,
							"parameter_enum": [
								"val1",
								"val2"
							]
						}
					},
					"text": "Similar",
					"mode": 0,
					"outlettype": [
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						180,
						4,
						50,
						16
					],
					"id": "obj-30",
					"patching_rect": [
						230,
						120,
						50,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"text": "similar",
					"outlettype": [
						""
					],
					"id": "obj-31",
					"patching_rect": [
						230,
						160,
						100.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"parameter_enable": 1,
					"varname": "Cancel",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Cancel",
							"parameter_shortname": "Cancel",
							"parameter_type": 2,
							"parameter_mmin": 0,
							"parameter_mmax": 1,
							"parameter_modmode": 0,
							"parameter_enum": [
								"val1",
								"val2"
							]
						}
					},
					"text": "Cancel",
					"mode": 0,
					"outlettype": [
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						412,
						4,
						54,
						16
					],
					"id": "obj-32",
					"patching_rect": [
						300,
						120,
						54,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"text": "cancel",
					"outlettype": [
						""
					],
					"id": "obj-33",
					"patching_rect": [
						300,
						160,
						100.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"parameter_enable": 1,
					"varname": "Generate",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Generate",
							"parameter_shortname": "Generate",
							"parameter_type": 2,
							"parameter_mmin": 0,
							"parameter_mmax": 1,
							"parameter_modmode": 0,
							"parameter_enum": [
								"val1",
								"val2"
							]
						}
					},
					"text": "Generate",
					"mode": 0,
					"outlettype": [
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						352,
						46,
						60,
						16
					],
					"id": "obj-34",
					"patching_rect": [
						370,
						120,
						60,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"text": "generate",
					"outlettype": [
						""
					],
					"id": "obj-35",
					"patching_rect": [
						370,
						160,
						100.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"keymode": 1,
					"text": "",
					"hint": "prompt: dusty lofi drum loop",
					"outlettype": [
						"",
						"int",
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						4,
						46,
						300,
						18
					],
					"id": "obj-36",
					"patching_rect": [
						370,
						200,
						300,
						18
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "route text",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"id": "obj-37",
					"patching_rect": [
						370,
						230,
						70.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend prompt",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-38",
					"patching_rect": [
						370,
						240,
						98.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t b b",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"bang",
						"bang"
					],
					"id": "obj-39",
					"patching_rect": [
						370,
						140,
						60.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"parameter_enable": 1,
					"varname": "Compose",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Compose",
							"parameter_shortname": "Compose",
							"parameter_type": 2,
							"parameter_mmin": 0,
							"parameter_mmax": 1,
							"parameter_modmode": 0,
							"parameter_enum": [
								"val1",
								"val2"
							]
						}
					},
					"text": "Compose",
					"mode": 0,
					"outlettype": [
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						152,
						68,
						60,
						16
					],
					"id": "obj-40",
					"patching_rect": [
						440,
						120,
						60,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"text": "compose",
					"outlettype": [
						""
					],
					"id": "obj-41",
					"patching_rect": [
						440,
						160,
						100.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"parameter_enable": 1,
					"varname": "Ask",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Ask",
							"parameter_shortname": "Ask",
							"parameter_type": 2,
							"parameter_mmin": 0,
							"parameter_mmax": 1,
							"parameter_modmode": 0,
							"parameter_enum": [
								"val1",
								"val2"
							]
						}
					},
					"text": "Ask",
					"mode": 0,
					"outlettype": [
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						536,
						68,
						52,
						16
					],
					"id": "obj-42",
					"patching_rect": [
						510,
						120,
						52,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"text": "ask",
					"outlettype": [
						""
					],
					"id": "obj-43",
					"patching_rect": [
						510,
						160,
						100.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"keymode": 1,
					"text": "",
					"hint": "ask: make this loop darker",
					"outlettype": [
						"",
						"int",
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						216,
						68,
						316,
						18
					],
					"id": "obj-44",
					"patching_rect": [
						510,
						200,
						316,
						18
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "route text",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"id": "obj-45",
					"patching_rect": [
						510,
						230,
						70.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend ask_text",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-46",
					"patching_rect": [
						510,
						240,
						112.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t b b",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"bang",
						"bang"
					],
					"id": "obj-47",
					"patching_rect": [
						510,
						140,
						60.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"parameter_enable": 1,
					"varname": "Bars",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Bars",
							"parameter_shortname": "Bars",
							"parameter_type": 1,
							"parameter_mmin": 1,
							"parameter_mmax": 64,
							"parameter_modmode": 0,
							"parameter_initial_enable": 1,
							"parameter_initial": [
								4
							]
						}
					},
					"outlettype": [
						"",
						"float"
					],
					"presentation": 1,
					"presentation_rect": [
						308,
						46,
						40,
						16
					],
					"id": "obj-48",
					"patching_rect": [
						300,
						200,
						40,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend bars",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-49",
					"patching_rect": [
						300,
						240,
						84.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "live.menu",
					"numinlets": 1,
					"numoutlets": 3,
					"parameter_enable": 1,
					"varname": "Kind",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Kind",
							"parameter_shortname": "Kind",
							"parameter_type": 2,
							"parameter_mmin": 0,
							"parameter_mmax": 3,
							"parameter_modmode": 0,
							"parameter_enum": [
								"chords",
								"melody",
								"bass",
								"drums"
							]
						}
					},
					"outlettype": [
						"",
						"",
						"float"
					],
					"presentation": 1,
					"presentation_rect": [
						4,
						68,
						70,
						16
					],
					"id": "obj-50",
					"patching_rect": [
						400,
						200,
						70,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend kind",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-51",
					"patching_rect": [
						400,
						240,
						84.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "live.menu",
					"numinlets": 1,
					"numoutlets": 3,
					"parameter_enable": 1,
					"varname": "Style",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Style",
							"parameter_shortname": "Style",
							"parameter_type": 2,
							"parameter_mmin": 0,
							"parameter_mmax": 5,
							"parameter_modmode": 0,
							"parameter_enum": [
								"pop",
								"jazz",
								"lofi",
								"house",
								"cinematic",
								"trap"
							]
						}
					},
					"outlettype": [
						"",
						"",
						"float"
					],
					"presentation": 1,
					"presentation_rect": [
						78,
						68,
						70,
						16
					],
					"id": "obj-52",
					"patching_rect": [
						500,
						200,
						70,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend style",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-53",
					"patching_rect": [
						500,
						240,
						91.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "live.menu",
					"numinlets": 1,
					"numoutlets": 3,
					"parameter_enable": 1,
					"varname": "FX Style",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "FX Style",
							"parameter_shortname": "FX Style",
							"parameter_type": 2,
							"parameter_mmin": 0,
							"parameter_mmax": 7,
							"parameter_modmode": 0,
							"parameter_enum": [
								"neutral",
								"warm",
								"bright",
								"dark",
								"punchy",
								"wide",
								"airy",
								"lofi"
							]
						}
					},
					"outlettype": [
						"",
						"",
						"float"
					],
					"presentation": 1,
					"presentation_rect": [
						234,
						4,
						60,
						16
					],
					"id": "obj-54",
					"patching_rect": [
						600,
						200,
						60,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend fx_style",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-55",
					"patching_rect": [
						600,
						240,
						112.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "live.toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"parameter_enable": 1,
					"varname": "To Clip Name",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "To Clip Name",
							"parameter_shortname": "To Clip Na",
							"parameter_type": 2,
							"parameter_mmin": 0,
							"parameter_mmax": 1,
							"parameter_modmode": 0,
							"parameter_enum": [
								"off",
								"on"
							]
						}
					},
					"outlettype": [
						""
					],
					"presentation": 1,
					"presentation_rect": [
						298,
						4,
						12,
						16
					],
					"id": "obj-56",
					"patching_rect": [
						700,
						200,
						12,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend write_name",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-57",
					"patching_rect": [
						700,
						240,
						126.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "name",
					"fontsize": 9.0,
					"presentation": 1,
					"presentation_rect": [
						310,
						4,
						46,
						16
					],
					"id": "obj-58",
					"patching_rect": [
						700,
						180,
						46,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "live.toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"parameter_enable": 1,
					"varname": "To Session",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "To Session",
							"parameter_shortname": "To Session",
							"parameter_type": 2,
							"parameter_mmin": 0,
							"parameter_mmax": 1,
							"parameter_modmode": 0,
							"parameter_enum": [
								"off",
								"on"
							]
						}
					},
					"outlettype": [
						""
					],
					"presentation": 1,
					"presentation_rect": [
						356,
						4,
						12,
						16
					],
					"id": "obj-59",
					"patching_rect": [
						800,
						200,
						12,
						16
					]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend write_session",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-60",
					"patching_rect": [
						800,
						240,
						147.0,
						22.0
					]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "session",
					"fontsize": 9.0,
					"presentation": 1,
					"presentation_rect": [
						368,
						4,
						46,
						16
					],
					"id": "obj-61",
					"patching_rect": [
						800,
						180,
						46,
						16
					]
				}
			}
		],
		"lines": [
			{
				"patchline": {
					"source": [
						"obj-1",
						0
					],
					"destination": [
						"obj-2",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-1",
						1
					],
					"destination": [
						"obj-2",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-5",
						0
					],
					"destination": [
						"obj-4",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-4",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-3",
						0
					],
					"destination": [
						"obj-6",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						0
					],
					"destination": [
						"obj-4",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						1
					],
					"destination": [
						"obj-7",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-7",
						0
					],
					"destination": [
						"obj-14",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-14",
						0
					],
					"destination": [
						"obj-8",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-7",
						1
					],
					"destination": [
						"obj-15",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-15",
						0
					],
					"destination": [
						"obj-9",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-7",
						2
					],
					"destination": [
						"obj-16",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-16",
						0
					],
					"destination": [
						"obj-10",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-7",
						3
					],
					"destination": [
						"obj-17",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-17",
						0
					],
					"destination": [
						"obj-11",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-7",
						4
					],
					"destination": [
						"obj-18",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-18",
						0
					],
					"destination": [
						"obj-19",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-19",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-18",
						1
					],
					"destination": [
						"obj-20",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-20",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-7",
						5
					],
					"destination": [
						"obj-21",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-21",
						0
					],
					"destination": [
						"obj-22",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-22",
						0
					],
					"destination": [
						"obj-13",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-21",
						1
					],
					"destination": [
						"obj-23",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-23",
						0
					],
					"destination": [
						"obj-13",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-24",
						0
					],
					"destination": [
						"obj-25",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-27",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-26",
						0
					],
					"destination": [
						"obj-27",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-29",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-28",
						0
					],
					"destination": [
						"obj-29",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-31",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-30",
						0
					],
					"destination": [
						"obj-31",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-33",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-32",
						0
					],
					"destination": [
						"obj-33",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-35",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-36",
						0
					],
					"destination": [
						"obj-37",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-37",
						0
					],
					"destination": [
						"obj-38",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-38",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-34",
						0
					],
					"destination": [
						"obj-39",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-39",
						1
					],
					"destination": [
						"obj-36",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-39",
						0
					],
					"destination": [
						"obj-35",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-40",
						0
					],
					"destination": [
						"obj-41",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-43",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-44",
						0
					],
					"destination": [
						"obj-45",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-45",
						0
					],
					"destination": [
						"obj-46",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-46",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-42",
						0
					],
					"destination": [
						"obj-47",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-47",
						1
					],
					"destination": [
						"obj-44",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-47",
						0
					],
					"destination": [
						"obj-43",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-48",
						0
					],
					"destination": [
						"obj-49",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-49",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-50",
						0
					],
					"destination": [
						"obj-51",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-51",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						0
					],
					"destination": [
						"obj-53",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-54",
						0
					],
					"destination": [
						"obj-55",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-55",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-56",
						0
					],
					"destination": [
						"obj-57",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-57",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-59",
						0
					],
					"destination": [
						"obj-60",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-60",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			}
		],
		"parameters": {
			"obj-24": [
				"Analyze",
				"Analyze",
				0
			],
			"obj-26": [
				"Suggest",
				"Suggest",
				0
			],
			"obj-28": [
				"Render A/B",
				"Render A/B",
				0
			],
			"obj-30": [
				"Similar",
				"Similar",
				0
			],
			"obj-32": [
				"Cancel",
				"Cancel",
				0
			],
			"obj-34": [
				"Generate",
				"Generate",
				0
			],
			"obj-40": [
				"Compose",
				"Compose",
				0
			],
			"obj-42": [
				"Ask",
				"Ask",
				0
			],
			"obj-48": [
				"Bars",
				"Bars",
				0
			],
			"obj-50": [
				"Kind",
				"Kind",
				0
			],
			"obj-52": [
				"Style",
				"Style",
				0
			],
			"obj-54": [
				"FX Style",
				"FX Style",
				0
			],
			"obj-56": [
				"To Clip Name",
				"To Clip Na",
				0
			],
			"obj-59": [
				"To Session",
				"To Session",
				0
			]
		},
		"dependency_cache": [
			{
				"name": "grym_node.js",
				"type": "TEXT",
				"implicit": 1
			},
			{
				"name": "grym_lom.js",
				"type": "TEXT",
				"implicit": 1
			}
		],
		"latency": 0,
		"is_mpe": 0,
		"minimum_live_version": "11.0",
		"minimum_max_version": "8.5",
		"platform_compatibility": 0,
		"project": {
			"version": 1,
			"amxdtype": 1633771873,
			"readonly": 0,
			"devpathtype": 0,
			"devpath": ".",
			"autoorganize": 0,
			"hideprojectwindow": 1,
			"showdependencies": 1,
			"autolocalize": 0,
			"contents": {
				"patchers": {},
				"code": {
					"grym_node.js": {
						"kind": "javascript",
						"local": 1
					},
					"grym_lom.js": {
						"kind": "javascript",
						"local": 1
					}
				}
			},
			"layout": {},
			"searchpath": {},
			"detailsvisible": 0,
			"sortmode": 0,
			"viewmode": 0,
			"includepackages": 0
		},
		"autosave": 0
	}
}
